import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type Provider from 'oidc-provider';
import { loadConfig, type Config } from '../../src/config/load.ts';
import { gatehouseFeatures } from '../../src/features/all.ts';
import { createFeaturedProvider, featureRoutes } from '../../src/features/compose.ts';
import { DEVICE_CODE_GRANT } from '../../src/shared/grant_types.ts';
import type { Feature } from '../../src/features/feature.ts';
import type { ProviderContext } from '../../src/provider/context.ts';
import { loadKeys } from '../../src/keys/key_material.ts';
import { Audit } from '../../src/shared/audit.ts';
import { createLogger } from '../../src/shared/logger.ts';
import { openStore } from '../../src/storage/open.ts';

interface ClientClass {
  validate(metadata: Record<string, unknown>): Promise<void>;
}

const DEVICE_CLIENT = { client_id: 'cli', token_endpoint_auth_method: 'none', grant_types: [DEVICE_CODE_GRANT], response_types: [], redirect_uris: [] };

describe('features compose onto a provider', () => {
  let dir: string;
  let ctx: ProviderContext;
  let config: Config;
  const logger = createLogger({ level: 'silent' });

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gh-features-'));
    config = loadConfig({ env: { GATEHOUSE_DATA_DIR: dir, GATEHOUSE_STORE: 'memory' }, envFile: false, cwd: dir });
    const store = await openStore(config);
    const keys = await loadKeys({ dataDir: config.dataDir, jwksFile: config.jwksFile, cookieKeys: config.cookieKeys });
    ctx = { config, store, keys, logger, staticClients: [], resourceServers: new Map() };
  });
  after(async () => {
    await ctx?.store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test("the device flow's grant exists only through its feature (what `gatehouse clients` validates against)", async () => {
    const bare = createFeaturedProvider(ctx, []);
    await assert.rejects((bare.Client as unknown as ClientClass).validate(DEVICE_CLIENT), (err: { error?: string; error_description?: string }) => {
      assert.equal(err.error, 'invalid_client_metadata');
      assert.match(err.error_description ?? '', /grant_types/);
      return true;
    });
    const full = createFeaturedProvider(ctx, gatehouseFeatures(config, { store: ctx.store, audit: new Audit(logger) }));
    await (full.Client as unknown as ClientClass).validate(DEVICE_CLIENT);
  });

  test('configuration is merged, install runs once per built provider, routes come in feature order', () => {
    const installed: Provider[] = [];
    const mark = (name: string): Feature => ({
      name,
      configuration: () => ({ features: { introspection: { enabled: true } }, extraParams: [name] }),
      install: (provider) => void installed.push(provider),
      routes: () => [async (_ctx, next) => next()],
    });
    const features = [mark('a'), mark('b')];
    const first = createFeaturedProvider(ctx, features);
    const second = createFeaturedProvider(ctx, features);
    assert.deepEqual(installed, [first, first, second, second]);
    assert.equal(featureRoutes(first, features).length, 2);
    assert.equal(featureRoutes(first, [{ name: 'empty' }]).length, 0);
  });
});
