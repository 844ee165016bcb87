import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CookieClient, hidden } from '../../helpers/browserless.ts';
import { runCli } from '../../helpers/cli.ts';
import { ALICE, DEVICE_GRANT, type DeviceServer, jwtClaims, startDeviceServer } from '../../helpers/device.ts';

/**
 * The server side of SSH logins without a browser or sshd: `gatehouse clients add --ssh`, and what
 * a host can learn about the person from the token response, userinfo and introspection.
 */
describe('SSH host clients (gatehouse clients add --ssh) and the claims a host reads', () => {
  let server: DeviceServer;
  let env: Record<string, string>;
  let secret: string;
  const basic = () => `Basic ${Buffer.from(`build-7:${secret}`).toString('base64')}`;

  before(async () => {
    server = await startDeviceServer({ GATEHOUSE_STORE: 'sqlite' });
    env = { GATEHOUSE_DATA_DIR: server.config.dataDir, GATEHOUSE_ISSUER: server.config.issuer };
    await server.accounts.create(ALICE);
  });
  after(() => server?.stop());

  it('--ssh makes a confidential device_code client for "openid profile groups posix"; --ssh --public is refused', async () => {
    const r = await runCli(['clients', 'add', '--ssh', '--id', 'build-7'], { env });
    assert.equal(r.status, 0, r.stderr);
    const m = JSON.parse(r.stdout) as Record<string, unknown>;
    assert.equal(m.client_name, 'SSH host');
    assert.deepEqual(m.grant_types, [DEVICE_GRANT]);
    assert.deepEqual(m.response_types, []);
    assert.equal(m.token_endpoint_auth_method, 'client_secret_basic');
    assert.equal(m.scope, 'openid profile groups posix');
    assert.match(String(m.client_secret), /^[A-Za-z0-9_-]{43}$/);
    secret = String(m.client_secret);

    const both = await runCli(['clients', 'add', '--ssh', '--public', '--id', 'build-8'], { env });
    assert.equal(both.status, 2);
    assert.match(both.stderr, /--ssh makes a confidential client/);
    // A name given next to --ssh wins over the default one.
    const named = await runCli(['clients', 'add', '--ssh', '--id', 'build-9', '--name', 'build-9.example.com'], { env });
    assert.equal((JSON.parse(named.stdout) as Record<string, unknown>).client_name, 'build-9.example.com');
  });

  it('the host must authenticate; it gets preferred_username, uid/gid numbers, groups and amr in the ID token and userinfo, username in introspection', async () => {
    const anonymous = await fetch(`${server.publicUrl}/device/auth`, { method: 'POST', body: new URLSearchParams({ client_id: 'build-7', scope: 'openid' }) });
    assert.equal(anonymous.status, 401);
    assert.equal(((await anonymous.json()) as { error: string }).error, 'invalid_client');
    const outside = await fetch(`${server.publicUrl}/device/auth`, { method: 'POST', headers: { authorization: basic() }, body: new URLSearchParams({ scope: 'openid email' }) });
    assert.equal(outside.status, 400);
    assert.equal(((await outside.json()) as { error: string }).error, 'invalid_scope');

    const res = await fetch(`${server.publicUrl}/device/auth`, { method: 'POST', headers: { authorization: basic() }, body: new URLSearchParams({ scope: 'openid profile groups posix' }) });
    assert.equal(res.status, 200);
    const auth = (await res.json()) as { device_code: string; user_code: string };
    // The person confirms (that is the consent) and signs in: no consent form on the way.
    const client = new CookieClient(server);
    const entry = await client.request('/device');
    const confirm = await client.request('/device', { form: { xsrf: hidden(entry.text, 'xsrf'), user_code: auth.user_code } });
    assert.match(confirm.text, /Your numeric Unix user and group ids/);
    let page = await client.request('/device', { form: { xsrf: hidden(confirm.text, 'xsrf'), user_code: auth.user_code, confirm: 'yes' } });
    page = await client.request(page.res.headers.get('location')!);
    const action = /action="(\/interaction\/[^"]+\/login)"/.exec(page.text)![1]!;
    page = await client.request(action, { form: { csrf: hidden(page.text, 'csrf'), username: ALICE.username, password: ALICE.password } });
    for (let hops = 0; hops < 5 && [302, 303].includes(page.res.status); hops++) page = await client.request(page.res.headers.get('location')!);
    assert.doesNotMatch(page.text, /\/consent"/);
    assert.match(page.text, /Device connected/);

    const token = await fetch(`${server.publicUrl}/token`, { method: 'POST', headers: { authorization: basic() }, body: new URLSearchParams({ grant_type: DEVICE_GRANT, device_code: auth.device_code }) });
    const tokens = (await token.json()) as Record<string, string>;
    assert.equal(token.status, 200, JSON.stringify(tokens));
    const id = jwtClaims(tokens.id_token!);
    assert.equal(id.aud, 'build-7');
    assert.equal(id.preferred_username, 'alice');
    assert.equal(id.uid_number, 1001);
    assert.equal(id.gid_number, 100);
    assert.deepEqual(id.groups, ['engineering', 'oncall']);
    assert.deepEqual(id.amr, ['pwd']);
    assert.equal(id.email, undefined, 'email was not asked for');

    const info = (await (await fetch(`${server.publicUrl}/me`, { headers: { authorization: `Bearer ${tokens.access_token}` } })).json()) as Record<string, unknown>;
    assert.equal(info.preferred_username, 'alice');
    assert.equal(info.uid_number, 1001);
    assert.deepEqual(info.groups, ['engineering', 'oncall']);
    assert.deepEqual(info.amr, ['pwd']);
    assert.equal(info.acr, 'urn:gatehouse:pwd');

    const introspected = await fetch(`${server.publicUrl}/token/introspection`, { method: 'POST', headers: { authorization: basic() }, body: new URLSearchParams({ token: tokens.access_token! }) });
    const body = (await introspected.json()) as Record<string, unknown>;
    assert.equal(body.active, true);
    assert.equal(body.username, 'alice');
    assert.equal(body.client_id, 'build-7');
    assert.deepEqual(body.amr, ['pwd']);
    // Junk tokens are simply inactive, never a 500.
    const junk = await fetch(`${server.publicUrl}/token/introspection`, { method: 'POST', headers: { authorization: basic() }, body: new URLSearchParams({ token: 'x'.repeat(5000) }) });
    assert.equal(junk.status, 200);
    assert.deepEqual(await junk.json(), { active: false });
  });
});
