import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import Koa from 'koa';
import { hashClientSecret } from '../../src/clients/client_secret.ts';
import { clientSecretHashing } from '../../src/http/client_secrets.ts';

let url: string;
let server: ReturnType<Koa['listen']>;

before(async () => {
  const app = new Koa();
  app.use(clientSecretHashing());
  // What oidc-provider would be handed.
  app.use((ctx) => {
    ctx.body = { authorization: ctx.req.headers.authorization ?? null };
  });
  server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => new Promise<void>((r) => server.close(() => r())));

const basic = (raw: string) => `Basic ${Buffer.from(raw).toString('base64')}`;
async function forwarded(authorization: string): Promise<string | null> {
  const res = await fetch(`${url}/token`, { method: 'POST', headers: { authorization, 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=client_credentials' });
  return ((await res.json()) as { authorization: string | null }).authorization;
}
/** The Basic credentials oidc-provider should see: the id and the secret's hash, each form-encoded (RFC 6749 §2.3.1). */
const expected = (id: string, secret: string) => basic(`${encodeURIComponent(id)}:${encodeURIComponent(hashClientSecret(secret))}`);

describe('presented client secrets (HTTP Basic, RFC 6749 §2.3.1)', () => {
  it('are replaced by their hash, the client_id kept as it was sent', async () => {
    assert.equal(await forwarded(basic('svc-1.a_b~c:plain-secret')), expected('svc-1.a_b~c', 'plain-secret'));
  });

  it('are form-decoded first: + is a space, %XX an escape, in the id and in the secret', async () => {
    assert.equal(await forwarded(basic('my+app%3Aone:se+cr%2Bet%25')), expected('my app:one', 'se cr+et%'));
    assert.equal(await forwarded(basic(`${encodeURIComponent('ünï cöde')}:${encodeURIComponent('pässwörd')}`)), expected('ünï cöde', 'pässwörd'));
  });

  it('are left alone when they do not parse, for oidc-provider to refuse', async () => {
    for (const raw of ['Basic !!!', basic('no-colon'), basic('id:'), basic('bad%ZZ:secret')]) {
      assert.equal(await forwarded(raw), raw);
    }
  });
});
