import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Accounts } from '../../../src/accounts/account.ts';
import { CookieClient, hidden } from '../../helpers/browserless.ts';
import { pkce } from '../../helpers/code_flow.ts';
import { CLIENTS } from '../../helpers/device.ts';
import { freePort } from '../../helpers/net.ts';
import { startTestServer, type TestServer } from '../../helpers/server.ts';
import { BASE_DN, SERVICE_DN, startDirectory, type TestDirectory } from './slapd.ts';

export const LOCAL_PASSWORD = 'local password for the fallback test';
const NATIVE = { client_id: 'cli-native', application_type: 'native', token_endpoint_auth_method: 'none', grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'], redirect_uris: ['http://127.0.0.1/callback'] };

/** A slapd, and a Gatehouse whose connectors file names it: the world of the LDAP end-to-end tests. */
export interface LdapWorld {
  directory: TestDirectory;
  gh: TestServer;
  /** Port nothing listens on (the "down" connector's directory). */
  deadPort: number;
  stop(): Promise<void>;
}

/**
 * Connectors: `corp` (ldaps://, a dead server listed first to show failover, service bind from a
 * file, engineering only, ppolicy lock as the disabled filter, memberUid groups, POSIX ids, re-check
 * at every refresh), `staff` (StartTLS, anyone in the tree, groupOfNames `member` groups) and `down`
 * (nothing listening).
 * Local accounts stay on, with `localuser`.
 */
export async function startLdapWorld(env: Record<string, string> = {}): Promise<LdapWorld> {
  const directory = await startDirectory();
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-ldap-'));
  const deadPort = await freePort();
  const common = {
    type: 'ldap',
    caFile: directory.caFile,
    bindDn: SERVICE_DN,
    bindPassword: { file: directory.servicePasswordFile },
    userSearch: { baseDn: `ou=people,${BASE_DN}`, filter: '(objectClass=posixAccount)', usernameAttribute: 'uid' },
    attributes: { id: 'entryUUID', email: 'mail', name: 'cn', uidNumber: 'uidNumber', gidNumber: 'gidNumber' },
    groupSearch: { style: 'memberUid', baseDn: `ou=groups,${BASE_DN}`, filter: '(objectClass=posixGroup)' },
    disabledFilter: '(pwdAccountLockedTime=*)',
    timeoutSeconds: 5,
  };
  const connectors = [
    { ...common, id: 'corp', label: 'Corp directory', url: [`ldaps://127.0.0.1:${deadPort}`, directory.ldapsUrl], requiredGroups: ['engineering'], recheckSeconds: 0 },
    { ...common, id: 'staff', label: 'Staff directory', url: directory.ldapUrl, startTls: true, groupSearch: { style: 'member', baseDn: `ou=roles,${BASE_DN}`, filter: '(objectClass=groupOfNames)' } },
    { ...common, id: 'down', label: 'Old directory', url: `ldaps://127.0.0.1:${deadPort}` },
  ];
  writeFileSync(join(dir, 'connectors.json'), JSON.stringify(connectors));
  writeFileSync(join(dir, 'clients.json'), JSON.stringify([...CLIENTS, NATIVE]));
  const gh = await startTestServer({
    GATEHOUSE_CONNECTORS_FILE: join(dir, 'connectors.json'),
    GATEHOUSE_CLIENTS_FILE: join(dir, 'clients.json'),
    GATEHOUSE_DEVICE_POLL_INTERVAL: '1s',
    ...env,
  });
  await new Accounts(gh.store).create({ username: 'localuser', password: LOCAL_PASSWORD, groups: [] });
  return {
    directory,
    gh,
    deadPort,
    async stop() {
      await gh?.stop();
      await directory.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** An authorization request of the native client (PKCE) up to the sign-in page, without a browser. */
export async function openSignIn(gh: TestServer, scope = 'openid profile email groups posix offline_access') {
  const client = new CookieClient(gh);
  const p = pkce();
  const redirect = `http://127.0.0.1:${await freePort()}/callback`;
  const auth = await client.request(`/auth?${new URLSearchParams({ client_id: 'cli-native', response_type: 'code', scope, redirect_uri: redirect, code_challenge: p.challenge, code_challenge_method: 'S256', prompt: 'consent' })}`);
  assert.ok([302, 303].includes(auth.res.status), auth.text);
  const interaction = new URL(auth.res.headers.get('location')!, gh.publicUrl).pathname;
  const page = await client.request(interaction);
  assert.equal(page.res.status, 200, page.text);
  return { client, interaction, page: page.text, redirect, verifier: p.verifier };
}

/** Submits the directory form of `connector` for the sign-in opened by openSignIn. */
export async function submitDirectory(s: Awaited<ReturnType<typeof openSignIn>>, connector: string, username: string, password: string) {
  const form = await s.client.request(`${s.interaction}/ldap/${connector}`);
  assert.equal(form.res.status, 200, form.text);
  return s.client.request(`${s.interaction}/ldap/${connector}`, { form: { csrf: hidden(form.text, 'csrf'), username, password } });
}

/**
 * Signs in through the directory form (or the local one, for `local`), consents, and redeems the code: the tokens of a native
 * client, refresh token included.
 */
export async function tokensFor(gh: TestServer, connector: string | 'local', username: string, password: string): Promise<Record<string, unknown>> {
  const s = await openSignIn(gh);
  const r = connector === 'local'
    ? await s.client.request(`${s.interaction}/login`, { form: { csrf: hidden(s.page, 'csrf'), username, password } })
    : await submitDirectory(s, connector, username, password);
  assert.equal(r.res.status, 303, r.text.slice(0, 500));
  let next = new URL(r.res.headers.get('location')!, gh.publicUrl).href;
  for (let step = 0; step < 8; step++) {
    const { res, text } = await s.client.request(next);
    if (res.status === 200 && /action="[^"]*\/consent"/.test(text)) {
      const path = /action="([^"]*)\/consent"/.exec(text)![1]!;
      const c = await s.client.request(`${path}/consent`, { form: { csrf: hidden(text, 'csrf') } });
      next = new URL(c.res.headers.get('location')!, gh.publicUrl).href;
      continue;
    }
    assert.ok([302, 303].includes(res.status), `unexpected ${res.status}: ${text.slice(0, 300)}`);
    const location = new URL(res.headers.get('location')!, gh.publicUrl);
    if (location.href.startsWith(s.redirect)) {
      const code = location.searchParams.get('code');
      assert.ok(code, location.href);
      const token = await fetch(`${gh.publicUrl}/token`, { method: 'POST', body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: s.redirect, client_id: 'cli-native', code_verifier: s.verifier }) });
      const body = (await token.json()) as Record<string, unknown>;
      assert.equal(token.status, 200, JSON.stringify(body));
      return body;
    }
    next = location.href;
  }
  throw new Error('the code flow did not reach the redirect URI');
}

/** A refresh of the native client's token. */
export async function refresh(gh: TestServer, refreshToken: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${gh.publicUrl}/token`, { method: 'POST', body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken, client_id: 'cli-native' }) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}
