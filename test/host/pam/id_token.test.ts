import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

const PAM_MODULE = join(import.meta.dirname, '..', '..', '..', 'host', 'pam', 'gatehouse_pam.py');

/**
 * The PAM module's own ID token checks (host/pam/gatehouse_pam.py, run by Debian's Python 3 as
 * pam_python would): RS256 signatures against a JWKS served on 127.0.0.1, then iss, aud, azp, exp,
 * and the claim checks. Every forgery must come back refused.
 */
const ISSUER = 'https://login.example.com';
const CLIENT = 'build-42';

function key(bits: number, kid: string) {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: bits });
  return { privateKey, jwk: { ...publicKey.export({ format: 'jwk' }), kid, use: 'sig', alg: 'RS256' } };
}

function jwt(privateKey: KeyObject, header: Record<string, unknown>, claims: Record<string, unknown>): string {
  const part = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const input = `${part(header)}.${part(claims)}`;
  return `${input}.${sign('sha256', Buffer.from(input), privateKey).toString('base64url')}`;
}

/** Runs verify_id_token and check_claims in Debian's Python; resolves with the claims or the refusal. */
function check(token: string, jwksUri: string, settings: Record<string, string> = {}, user = 'root'): Promise<{ ok: boolean; out: string }> {
  const script = `
import importlib.util, json, sys, time
sys.dont_write_bytecode = True
spec = importlib.util.spec_from_file_location('gatehouse_pam', sys.argv[1])
m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)
config = dict(m.DEFAULTS, issuer=${JSON.stringify(ISSUER)}, client_id=${JSON.stringify(CLIENT)}, secret='x', **json.loads(sys.argv[3]))
try:
    claims = m.verify_id_token(sys.argv[2], config, {'jwks_uri': sys.argv[4]}, m.Http(config, time.monotonic() + 10))
    m.check_claims(claims, sys.argv[5], config)
    print('OK ' + json.dumps(claims))
except m.Refused as e:
    print('REFUSED ' + str(e))
`;
  return new Promise((resolve, reject) => {
    execFile('/usr/bin/python3', ['-c', script, PAM_MODULE, token, JSON.stringify(settings), jwksUri, user], (err, stdout, stderr) => {
      if (err) return reject(new Error(`python failed: ${stderr}`));
      resolve({ ok: stdout.startsWith('OK '), out: stdout.trim() });
    });
  });
}

describe('PAM module: ID token validation', () => {
  const good = key(2048, 'k1');
  const other = key(2048, 'k1');
  const small = key(1024, 'k2');
  let server: Server;
  let jwksUri: string;
  const now = () => Math.floor(Date.now() / 1000);
  const claims = (extra: Record<string, unknown> = {}) => ({ iss: ISSUER, aud: CLIENT, sub: 'abc', iat: now(), exp: now() + 300, preferred_username: 'root', uid_number: 0, groups: ['eng'], amr: ['pwd'], ...extra });
  const header = { alg: 'RS256', kid: 'k1' };

  before(async () => {
    server = createServer((_req, res) => res.end(JSON.stringify({ keys: [good.jwk, small.jwk] })));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    jwksUri = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('accepts a token signed by the issuer\'s key for this client and the right user', async () => {
    const r = await check(jwt(good.privateKey, header, claims()), jwksUri);
    assert.ok(r.ok, r.out);
    assert.ok((await check(jwt(good.privateKey, header, claims()), jwksUri, { claim: 'uid_number', group: 'eng' })).ok);
  });

  const refusals: Array<[string, () => string, Record<string, string>?, RegExp?]> = [
    ['another key with the same kid', () => jwt(other.privateKey, header, claims())],
    ['a key shorter than 2048 bits', () => jwt(small.privateKey, { alg: 'RS256', kid: 'k2' }, claims())],
    ['a changed payload', () => {
      const [h, , s] = jwt(good.privateKey, header, claims()).split('.');
      return `${h}.${Buffer.from(JSON.stringify(claims({ sub: 'evil' }))).toString('base64url')}.${s}`;
    }],
    ['alg none', () => `${Buffer.from(JSON.stringify({ alg: 'none' })).toString('base64url')}.${Buffer.from(JSON.stringify(claims())).toString('base64url')}.`],
    ['alg HS256', () => jwt(good.privateKey, { alg: 'HS256', kid: 'k1' }, claims())],
    ['another issuer', () => jwt(good.privateKey, header, claims({ iss: 'https://evil.example.com' }))],
    ['another audience', () => jwt(good.privateKey, header, claims({ aud: 'build-43' }))],
    ['several audiences without azp', () => jwt(good.privateKey, header, claims({ aud: [CLIENT, 'x'] }))],
    ['expired', () => jwt(good.privateKey, header, claims({ exp: now() - 600 }))],
    ['issued in the future', () => jwt(good.privateKey, header, claims({ iat: now() + 600 }))],
    ['garbage', () => 'not.a.jwt.at.all'],
    ['another person', () => jwt(good.privateKey, header, claims({ preferred_username: 'mallory' })), {}, /approved by Gatehouse user 'mallory'/],
    ['a uid_number that is not the user\'s', () => jwt(good.privateKey, header, claims({ uid_number: 1000 })), { claim: 'uid_number' }],
    ['a uid_number given as a string', () => jwt(good.privateKey, header, claims({ uid_number: '0' })), { claim: 'uid_number' }],
    ['a missing group', () => jwt(good.privateKey, header, claims()), { group: 'admins' }],
    ['no second factor when required', () => jwt(good.privateKey, header, claims()), { mfa: 'yes' }, /second factor/],
  ];
  for (const [name, token, settings, message] of refusals) {
    it(`refuses ${name}`, async () => {
      const r = await check(token(), jwksUri, settings);
      assert.ok(!r.ok, r.out);
      assert.match(r.out, message ?? /^REFUSED /);
    });
  }

  it('accepts MFA from amr otp or the configured acr', async () => {
    assert.ok((await check(jwt(good.privateKey, header, claims({ amr: ['pwd', 'otp'] })), jwksUri, { mfa: 'yes' })).ok);
    assert.ok((await check(jwt(good.privateKey, header, claims({ acr: 'urn:gatehouse:mfa' })), jwksUri, { mfa: 'yes' })).ok);
  });
});
