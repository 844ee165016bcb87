import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { runCli } from '../helpers/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'gh-static-rules-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('static clients obey the client metadata rules', () => {
  it('gatehouse serve refuses a clients file with a dangerous client, naming it, exit 2', async () => {
    const file = join(dir, 'clients.json');
    writeFileSync(file, JSON.stringify([
      { client_id: 'fine', client_secret: 'a-long-enough-static-secret-0123456789', grant_types: ['client_credentials'], response_types: [], redirect_uris: [] },
      { client_id: 'web-app', client_secret: 'a-long-enough-static-secret-0123456789', redirect_uris: ['http://app.example.com/cb'] },
      { client_id: 'public-service', grant_types: ['client_credentials'], response_types: [], redirect_uris: [], token_endpoint_auth_method: 'none' },
    ]));
    const r = await runCli(['serve'], { env: { GATEHOUSE_CLIENTS_FILE: file, GATEHOUSE_DATA_DIR: join(dir, 'data'), GATEHOUSE_PORT: '0', GATEHOUSE_MTLS_PORT: '0' } });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /GATEHOUSE_CLIENTS_FILE: client web-app: invalid_redirect_uri: redirect_uris may only use http for loopback/);
    assert.match(r.stderr, /GATEHOUSE_CLIENTS_FILE: client public-service: invalid_client_metadata: .*client_credentials/);
    assert.doesNotMatch(r.stderr, /client fine/);
  });
});
