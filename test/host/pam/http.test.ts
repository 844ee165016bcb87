import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

const PAM_MODULE = join(import.meta.dirname, '..', '..', '..', 'host', 'pam', 'gatehouse_pam.py');

/**
 * Where the PAM module sends the host's client secret: only to the endpoints discovery names, over
 * https (http only on loopback), never along a redirect (urllib would copy the Authorization
 * header to wherever a 30x points, plain http or another host included).
 */
describe('PAM module: the client secret stays with Gatehouse', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-pam-http-'));
  writeFileSync(join(dir, 'secret'), 'host-secret\n', { mode: 0o600 });
  let gatehouse: Server;
  let elsewhere: Server;
  let issuer: string;
  let elsewhereUrl: string;
  let metadata: Record<string, unknown> = {};
  const stolen: IncomingHttpHeaders[] = [];

  const listen = async (server: Server) => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  };

  before(async () => {
    elsewhere = createServer((req, res) => {
      stolen.push(req.headers);
      res.end(JSON.stringify({ error: 'authorization_pending' }));
    });
    elsewhereUrl = await listen(elsewhere);
    gatehouse = createServer((req, res) => {
      if (req.url === '/.well-known/openid-configuration') return res.end(JSON.stringify(metadata));
      res.writeHead(302, { location: `${elsewhereUrl}/steal` }).end();
    });
    issuer = await listen(gatehouse);
  });
  after(async () => {
    await new Promise<void>((resolve) => gatehouse.close(() => resolve()));
    await new Promise<void>((resolve) => elsewhere.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  function login(): Promise<string> {
    const script = `
import importlib.util, sys
sys.dont_write_bytecode = True
spec = importlib.util.spec_from_file_location('gatehouse_pam', sys.argv[1])
m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)
config = dict(m.DEFAULTS, issuer=sys.argv[2], client_id='build-42', client_secret_file=sys.argv[3], timeout='10')
try:
    m.device_login('root', config, lambda text: None)
    print('OK')
except m.Refused as e:
    print('REFUSED ' + str(e))
`;
    return new Promise((resolve, reject) =>
      execFile('/usr/bin/python3', ['-c', script, PAM_MODULE, issuer, join(dir, 'secret')], (err, stdout, stderr) => (err ? reject(new Error(stderr)) : resolve(stdout.trim()))),
    );
  }

  it('does not follow a redirect from the device authorization endpoint', async () => {
    metadata = { issuer, device_authorization_endpoint: `${issuer}/device/auth`, token_endpoint: `${issuer}/token`, jwks_uri: `${issuer}/jwks` };
    const out = await login();
    assert.deepEqual(stolen, [], 'nothing reached the redirect target');
    assert.match(out, /^REFUSED Gatehouse answered with a redirect \(302\)/);
  });

  it('refuses endpoints that are plain http off loopback', async () => {
    for (const key of ['device_authorization_endpoint', 'token_endpoint', 'jwks_uri']) {
      metadata = { issuer, device_authorization_endpoint: `${issuer}/device/auth`, token_endpoint: `${issuer}/token`, jwks_uri: `${issuer}/jwks`, [key]: 'http://login.example.com/x' };
      assert.equal(await login(), `REFUSED Gatehouse announces a ${key} that is not https (http only on a loopback address)`);
    }
    assert.deepEqual(stolen, []);
  });
});
