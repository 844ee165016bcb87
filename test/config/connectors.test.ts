import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { after, describe, it } from 'node:test';
import { loadConfig } from '../../src/config/load.ts';
import { ConfigError } from '../../src/shared/errors.ts';

const dir = mkdtempSync(join(tmpdir(), 'gh-connectors-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const SECRET = 'super-secret-client-value-0123456789';
let n = 0;

function file(connectors: unknown): string {
  const path = join(dir, `c${n++}.json`);
  writeFileSync(path, typeof connectors === 'string' ? connectors : JSON.stringify(connectors));
  return path;
}

const base = { id: 'corp', label: 'Corp SSO', issuer: 'https://sso.example.com', clientId: 'gatehouse', clientSecret: { env: 'CORP_SECRET' } };
const load = (env: Record<string, string>) => loadConfig({ env: { CORP_SECRET: SECRET, ...env }, envFile: false, cwd: dir });

function problems(env: Record<string, string>): string[] {
  try {
    load(env);
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return err.problems;
  }
  assert.fail('expected a configuration error');
}

describe('connectors file', () => {
  it('loads connectors with defaults, secrets resolved but never printable', () => {
    const config = load({ GATEHOUSE_CONNECTORS_FILE: file([base]) });
    const [c] = config.connectors;
    assert.deepEqual(c?.scopes, ['openid', 'profile', 'email']);
    assert.deepEqual(c?.claims, { username: 'preferred_username', email: 'email', name: 'name', groups: 'groups' });
    assert.equal(c?.clientSecret?.reveal(), SECRET);
    assert.ok(!JSON.stringify(config).includes(SECRET));
    assert.ok(!inspect(config, { depth: 10 }).includes(SECRET));
    assert.ok(!`${c?.clientSecret}`.includes(SECRET));
  });

  it('reads a secret from a file and a private_key_jwt key from a PEM file', () => {
    const secretFile = join(dir, 'secret.txt');
    writeFileSync(secretFile, `${SECRET}\n`);
    const pem = join(dir, 'key.pem');
    writeFileSync(pem, generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'pem', type: 'pkcs8' }));
    const config = load({
      GATEHOUSE_CONNECTORS_FILE: file([
        { ...base, clientSecret: { file: secretFile } },
        { ...base, id: 'partner', clientSecret: undefined, privateKeyJwt: { file: pem, kid: 'k1' } },
      ]),
    });
    assert.equal(config.connectors[0]?.clientSecret?.reveal(), SECRET);
    assert.equal(config.connectors[1]?.privateKeyJwt?.kid, 'k1');
  });

  it('refuses bad files with one line per problem, naming the entry and never echoing secrets', () => {
    assert.match(problems({ GATEHOUSE_CONNECTORS_FILE: file('{not json') })[0]!, /^GATEHOUSE_CONNECTORS_FILE: .* is not a readable JSON file/);
    assert.match(problems({ GATEHOUSE_CONNECTORS_FILE: file([{ ...base, id: 'Bad Id' }]) })[0]!, /0\.id: must be 1-32 lower-case/);
    assert.match(problems({ GATEHOUSE_CONNECTORS_FILE: file([{ ...base, issuer: 'ftp://x' }]) })[0]!, /0\.issuer: must be an http\(s\) URL/);
    assert.match(problems({ GATEHOUSE_CONNECTORS_FILE: file([{ ...base, clientSecret: undefined }]) })[0]!, /exactly one of "clientSecret" or "privateKeyJwt"/);
    assert.match(problems({ GATEHOUSE_CONNECTORS_FILE: file([{ ...base, scopes: ['email'] }]) })[0]!, /scopes must include "openid"/);
    assert.match(problems({ GATEHOUSE_CONNECTORS_FILE: file([{ ...base, clientSecret: { env: 'MISSING_SECRET' } }]) })[0]!, /environment variable MISSING_SECRET is not set/);
    assert.match(problems({ GATEHOUSE_CONNECTORS_FILE: file([{ ...base, clientSecret: { file: '/nonexistent/secret' } }]) })[0]!, /cannot read \/nonexistent\/secret \(ENOENT\)/);
    assert.match(problems({ GATEHOUSE_CONNECTORS_FILE: file([base, base]) })[0]!, /"corp" is used twice/);
    assert.match(problems({ GATEHOUSE_CONNECTORS_FILE: file([{ ...base, unknown: 1 }]) })[0]!, /Unrecognized key/);
    const notKey = join(dir, 'notkey.pem');
    writeFileSync(notKey, SECRET);
    const p = problems({ GATEHOUSE_CONNECTORS_FILE: file([{ ...base, clientSecret: undefined, privateKeyJwt: { file: notKey } }]) });
    assert.match(p[0]!, /not a PKCS#8 PEM or JWK private key/);
    assert.ok(!p.join('\n').includes(SECRET));
  });

  it('turning local accounts off needs a connector; production needs https issuers', () => {
    assert.match(problems({ GATEHOUSE_LOCAL_ACCOUNTS: 'false' })[0]!, /^GATEHOUSE_LOCAL_ACCOUNTS: false needs at least one connector/);
    assert.equal(load({ GATEHOUSE_LOCAL_ACCOUNTS: 'false', GATEHOUSE_CONNECTORS_FILE: file([base]) }).localAccounts, false);
    const prod = { GATEHOUSE_MODE: 'production', GATEHOUSE_ISSUER: 'https://auth.example.com', GATEHOUSE_JWKS_FILE: '/keys/jwks.json', GATEHOUSE_COOKIE_KEYS: 'k'.repeat(32), GATEHOUSE_MTLS_ENABLED: 'false' };
    assert.ok(problems({ ...prod, GATEHOUSE_CONNECTORS_FILE: file([{ ...base, issuer: 'http://sso.example.com' }]) }).some((l) => /connector "corp" has an http: issuer \(not allowed in production mode\)/.test(l)));
    const dev = load({ GATEHOUSE_CONNECTORS_FILE: file([{ ...base, issuer: 'http://127.0.0.1:9999' }]) });
    assert.ok(dev.warnings.some((w) => /connector "corp" has an http: issuer/.test(w)));
  });
});
