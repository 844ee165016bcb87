import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, createHmac, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

const PAM_MODULE = join(import.meta.dirname, '..', '..', '..', 'host', 'pam', 'gatehouse_pam.py');

/**
 * The PAM module's ID token checks (host/pam/gatehouse_pam.py, run by Debian's Python 3 as
 * pam_python would, verifying with Debian's PyJWT and cryptography): signatures against a JWKS
 * served on 127.0.0.1 with the asymmetric algorithms discovery lists, then iss, aud, azp, exp, iat,
 * and the claim checks. Every forgery must come back refused.
 */
const ISSUER = 'https://login.example.com';
const CLIENT = 'build-42';
/** What Gatehouse's discovery lists in id_token_signing_alg_values_supported (oidc-provider's defaults). */
const GATEHOUSE_ALGS = ['RS256', 'PS256', 'ES256', 'Ed25519', 'EdDSA'];

function key(bits: number, kid: string, publicExponent = 65537) {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: bits, publicExponent });
  return { privateKey, publicKey, jwk: { ...publicKey.export({ format: 'jwk' }), kid, use: 'sig', alg: 'RS256' } };
}

function ecKey(namedCurve: string, kid: string, alg: string) {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve });
  return { privateKey, jwk: { ...publicKey.export({ format: 'jwk' }), kid, use: 'sig', alg } };
}

const part = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

function jwt(privateKey: KeyObject, header: Record<string, unknown>, claims: Record<string, unknown>): string {
  const input = `${part(header)}.${part(claims)}`;
  const ec = privateKey.asymmetricKeyType === 'ec';
  return `${input}.${sign('sha256', Buffer.from(input), ec ? { key: privateKey, dsaEncoding: 'ieee-p1363' } : privateKey).toString('base64url')}`;
}

/** HS256 keyed with `secret`: the old "public key as HMAC secret" confusion. */
function hs256(secret: string | Buffer, header: Record<string, unknown>, claims: Record<string, unknown>): string {
  const input = `${part(header)}.${part(claims)}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}

/** Integer cube root (floor) of a non-negative BigInt, by Newton's method. */
function cbrt(n: bigint): bigint {
  let x = 1n << BigInt(Math.ceil(n.toString(2).length / 3) + 1);
  for (;;) {
    const y = (2n * x + n / (x * x)) / 3n;
    if (y >= x) return x;
    x = y;
  }
}

/**
 * Bleichenbacher's 2006 forgery against e = 3 keys: a cube root of "00 01 FF.. 00 DigestInfo hash
 * garbage" with short padding, valid for verifiers that parse the block instead of comparing it whole.
 */
function bleichenbacher(modulusBytes: number, header: Record<string, unknown>, claims: Record<string, unknown>): string {
  const input = `${part(header)}.${part(claims)}`;
  const hash = createHash('sha256').update(input).digest();
  const prefix = Buffer.concat([Buffer.from('0001ffffffffffffffff00', 'hex'), Buffer.from('3031300d060960864801650304020105000420', 'hex'), hash]);
  const block = Buffer.concat([prefix, Buffer.alloc(modulusBytes - prefix.length, 0xff)]);
  const s = cbrt(BigInt(`0x${block.toString('hex')}`));
  return `${input}.${Buffer.from(s.toString(16).padStart(modulusBytes * 2, '0'), 'hex').toString('base64url')}`;
}

/** Runs verify_id_token and check_claims in Debian's Python; resolves with the claims or the refusal. */
function check(token: string, jwksUri: string, settings: Record<string, string> = {}, algs: unknown = GATEHOUSE_ALGS): Promise<{ ok: boolean; out: string }> {
  const script = `
import importlib.util, json, sys, time
sys.dont_write_bytecode = True
spec = importlib.util.spec_from_file_location('gatehouse_pam', sys.argv[1])
m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)
config = dict(m.DEFAULTS, issuer=${JSON.stringify(ISSUER)}, client_id=${JSON.stringify(CLIENT)}, secret='x', **json.loads(sys.argv[3]))
try:
    metadata = {'jwks_uri': sys.argv[4], 'id_token_signing_alg_values_supported': json.loads(sys.argv[5])}
    claims = m.verify_id_token(sys.argv[2], config, metadata, m.Http(config, time.monotonic() + 10))
    m.check_claims(claims, 'root', config)
    print('OK ' + json.dumps(claims))
except m.Refused as e:
    print('REFUSED ' + str(e))
`;
  return new Promise((resolve, reject) => {
    execFile('/usr/bin/python3', ['-c', script, PAM_MODULE, token, JSON.stringify(settings), jwksUri, JSON.stringify(algs)], (err, stdout, stderr) => {
      if (err) return reject(new Error(`python failed: ${stderr}`));
      resolve({ ok: stdout.startsWith('OK '), out: stdout.trim() });
    });
  });
}

describe('PAM module: ID token validation', () => {
  const good = key(2048, 'k1');
  const other = key(2048, 'k1');
  const small = key(1024, 'k2');
  const lowExponent = key(2048, 'k3', 3);
  const es = ecKey('P-256', 'e1', 'ES256');
  const wrongCurve = ecKey('P-384', 'e2', 'ES256');
  let server: Server;
  let jwksUri: string;
  const now = () => Math.floor(Date.now() / 1000);
  const claims = (extra: Record<string, unknown> = {}) => ({ iss: ISSUER, aud: CLIENT, sub: 'abc', iat: now(), exp: now() + 300, preferred_username: 'root', uid_number: 0, groups: ['eng'], amr: ['pwd'], ...extra });
  const header = { alg: 'RS256', kid: 'k1' };

  before(async () => {
    server = createServer((_req, res) => res.end(JSON.stringify({ keys: [good.jwk, small.jwk, lowExponent.jwk, es.jwk, wrongCurve.jwk] })));
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
    ['HS256 keyed with the issuer\'s public key (PEM)', () => hs256(String(good.publicKey.export({ format: 'pem', type: 'spki' })), { alg: 'HS256', kid: 'k1' }, claims())],
    ['HS256 keyed with the public key, even when discovery lists HS256 and none', () => hs256(String(good.publicKey.export({ format: 'pem', type: 'spki' })), { alg: 'HS256', kid: 'k1' }, claims()), {}, /signed with 'HS256'/],
    ['alg none, even when discovery lists it', () => `${part({ alg: 'none' })}.${part(claims())}.`, {}, /signed with 'none'/],
    ['an algorithm discovery does not list (RS384)', () => jwt(good.privateKey, { alg: 'RS384', kid: 'k1' }, claims()), {}, /signed with 'RS384'/],
    ['a 2048-bit key with e = 3, properly signed', () => jwt(lowExponent.privateKey, { alg: 'RS256', kid: 'k3' }, claims())],
    ['Bleichenbacher\'s e = 3 forgery (short padding, garbage after the digest)', () => bleichenbacher(256, { alg: 'RS256', kid: 'k3' }, claims())],
    ['ES256 under the RSA key\'s kid', () => jwt(es.privateKey, { alg: 'ES256', kid: 'k1' }, claims())],
    ['ES256 from a P-384 key', () => jwt(wrongCurve.privateKey, { alg: 'ES256', kid: 'e2' }, claims())],
    ['no kid and another key', () => jwt(other.privateKey, { alg: 'RS256' }, claims())],
    ['azp naming another client', () => jwt(good.privateKey, header, claims({ azp: 'build-43' }))],
    ['no exp', () => jwt(good.privateKey, header, claims({ exp: undefined }))],
    ['no iat', () => jwt(good.privateKey, header, claims({ iat: undefined }))],
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
      const r = await check(token(), jwksUri, settings, name.includes('discovery lists') ? ['RS256', 'HS256', 'none'] : GATEHOUSE_ALGS);
      assert.ok(!r.ok, r.out);
      assert.match(r.out, message ?? /^REFUSED /);
    });
  }

  it('accepts ES256 from the issuer\'s P-256 key, a token without kid, and clocks a little apart', async () => {
    for (const token of [
      jwt(es.privateKey, { alg: 'ES256', kid: 'e1' }, claims()),
      jwt(good.privateKey, { alg: 'RS256' }, claims()),
      jwt(good.privateKey, header, claims({ exp: now() - 30, iat: now() + 30 })),
      jwt(good.privateKey, header, claims({ aud: [CLIENT, 'x'], azp: CLIENT })),
    ]) {
      const r = await check(token, jwksUri);
      assert.ok(r.ok, r.out);
    }
  });

  it('refuses every token when discovery lists no public-key algorithm', async () => {
    assert.match((await check(jwt(good.privateKey, header, claims()), jwksUri, {}, ['HS256', 'none'])).out, /no public-key algorithm/);
  });

  it('fails closed with a readable line on a host without python3-jwt', async () => {
    const script = `
import importlib.util, sys, time
sys.dont_write_bytecode = True
sys.modules['jwt'] = None  # as if python3-jwt were not installed
spec = importlib.util.spec_from_file_location('gatehouse_pam', sys.argv[1])
m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)
config = dict(m.DEFAULTS, issuer='${ISSUER}', client_id='${CLIENT}', secret='x')
try:
    m.verify_id_token(sys.argv[2], config, {'jwks_uri': sys.argv[3]}, m.Http(config, time.monotonic() + 10))
    print('OK')
except m.Refused as e:
    print('REFUSED ' + str(e))
`;
    const out = await new Promise<string>((resolve, reject) =>
      execFile('/usr/bin/python3', ['-c', script, PAM_MODULE, jwt(good.privateKey, header, claims()), jwksUri], (err, stdout, stderr) => (err ? reject(new Error(stderr)) : resolve(stdout.trim()))),
    );
    assert.equal(out, 'REFUSED this host lacks python3-jwt and python3-cryptography (apt-get install python3-jwt python3-cryptography)');
  });

  it('accepts MFA from amr otp or the configured acr', async () => {
    assert.ok((await check(jwt(good.privateKey, header, claims({ amr: ['pwd', 'otp'] })), jwksUri, { mfa: 'yes' })).ok);
    assert.ok((await check(jwt(good.privateKey, header, claims({ acr: 'urn:gatehouse:mfa' })), jwksUri, { mfa: 'yes' })).ok);
  });
});
