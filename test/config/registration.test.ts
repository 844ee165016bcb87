import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { describe, it } from 'node:test';
import { loadConfig } from '../../src/config/load.ts';
import { ConfigError } from '../../src/shared/errors.ts';
import { runCli } from '../helpers/cli.ts';

const load = (env: Record<string, string>) => loadConfig({ env, envFile: false, cwd: tmpdir() });
const prod = { GATEHOUSE_MODE: 'production', GATEHOUSE_ISSUER: 'https://auth.example.com', GATEHOUSE_JWKS_FILE: '/keys/jwks.json', GATEHOUSE_COOKIE_KEYS: 'k'.repeat(32), GATEHOUSE_MTLS_ENABLED: 'false' };

describe('GATEHOUSE_REGISTRATION', () => {
  it('defaults to open in development, with a warning', () => {
    const c = load({});
    assert.equal(c.registration, 'open');
    assert.ok(c.warnings.some((w) => w.startsWith('GATEHOUSE_REGISTRATION: ')));
  });
  it('defaults to token in production, without a warning', () => {
    const c = load(prod);
    assert.equal(c.registration, 'token');
    assert.deepEqual(c.warnings, []);
  });
  it('production accepts closed', () => {
    assert.equal(load({ ...prod, GATEHOUSE_REGISTRATION: 'closed' }).registration, 'closed');
  });
  it('production refuses open, naming the variable', () => {
    assert.throws(() => load({ ...prod, GATEHOUSE_REGISTRATION: 'open' }), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.ok(err.problems.some((p) => /^GATEHOUSE_REGISTRATION: .*not allowed in production mode/.test(p)), err.problems.join('\n'));
      return true;
    });
  });
  it('gatehouse serve in production with open registration exits 2', async () => {
    const r = await runCli(['serve'], { env: { ...prod, GATEHOUSE_REGISTRATION: 'open' } });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /GATEHOUSE_REGISTRATION: /);
  });
});
