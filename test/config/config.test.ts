import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadConfig } from '../../src/config/load.ts';
import { settings } from '../../src/config/schema.ts';
import { ConfigError } from '../../src/shared/errors.ts';
import { runCli } from '../helpers/cli.ts';

const load = (env: Record<string, string>) => loadConfig({ env, envFile: false, cwd: tmpdir() });

function problems(env: Record<string, string>): string[] {
  try {
    load(env);
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.problems;
  }
  assert.fail('expected a ConfigError');
}

/** A value each setting must refuse (settings taking free text refuse nothing and are absent). */
const BAD: Record<string, string> = {
  GATEHOUSE_LOCAL_ACCOUNTS: 'maybe',
  GATEHOUSE_UPSTREAM_RECHECK_UNREACHABLE: 'sometimes',
  GATEHOUSE_CONNECTORS_FILE: '/nonexistent/connectors.json',
  GATEHOUSE_MODE: 'staging',
  GATEHOUSE_ISSUER: 'localhost:3000',
  GATEHOUSE_PORT: '70000',
  GATEHOUSE_MTLS_PORT: 'abc',
  GATEHOUSE_MTLS_ORIGIN: 'https://x/?q=1',
  GATEHOUSE_TRUST_PROXY: 'maybe',
  GATEHOUSE_LOG_LEVEL: 'loud',
  GATEHOUSE_SHUTDOWN_TIMEOUT: '5 minutes',
  GATEHOUSE_STORE: 'postgres',
  MONGODB_URI: 'http://db',
  GATEHOUSE_MONGODB_TIMEOUT: '0s',
  GATEHOUSE_COOKIE_KEYS: 'short',
  GATEHOUSE_KEY_ACTIVATION_DELAY: 'tomorrow',
  GATEHOUSE_KEY_RETIREMENT_GRACE: '-1h',
  GATEHOUSE_METRICS: 'sometimes',
  GATEHOUSE_ADMIN_PORT: '99999',
  GATEHOUSE_METRICS_TOKEN: 'short',
  GATEHOUSE_REGISTRATION: 'sometimes',
  GATEHOUSE_REGISTRATION_RATE_LIMIT: '0',
  GATEHOUSE_REGISTRATION_RATE_WINDOW: 'often',
  GATEHOUSE_REGISTRATION_ALLOW_PRIVATE_URIS: 'perhaps',
  GATEHOUSE_MTLS_ENABLED: 'maybe',
  GATEHOUSE_MTLS_RELOAD_INTERVAL: 'often',
  GATEHOUSE_CLIENT_CERT_HEADER: 'ssl client cert',
  GATEHOUSE_ACCESS_TOKEN_TTL: '10s',
  GATEHOUSE_ID_TOKEN_TTL: '2d',
  GATEHOUSE_REFRESH_TOKEN_TTL: 'forever',
  GATEHOUSE_DEVICE_CODE_TTL: '2h',
  GATEHOUSE_DEVICE_POLL_INTERVAL: '0',
  GATEHOUSE_SESSION_TTL: '1m',
  GATEHOUSE_CONSENT_TTL: '-1',
  GATEHOUSE_LOGIN_FAILURES_PER_ACCOUNT: '0',
  GATEHOUSE_LOGIN_FAILURES_PER_IP: 'many',
  GATEHOUSE_LOGIN_THROTTLE_WINDOW: '1s',
  GATEHOUSE_USER_CODE_FAILURES_PER_IP: '1.5',
  GATEHOUSE_USER_CODE_FAILURES_GLOBAL: '0',
  GATEHOUSE_USER_CODE_THROTTLE_WINDOW: '3w',
  GATEHOUSE_PRODUCT_NAME: 'x'.repeat(61),
  GATEHOUSE_LOGO_URL: 'http://example.com/logo.png',
  GATEHOUSE_ACCENT_COLOUR: 'red',
  GATEHOUSE_SHUTDOWN_DRAIN_DELAY: '11m',
  GATEHOUSE_TOKEN_RATE_LIMIT_IP: '-1',
  GATEHOUSE_TOKEN_RATE_LIMIT_CLIENT: 'lots',
  GATEHOUSE_DEVICE_RATE_LIMIT_IP: '1.5',
  GATEHOUSE_DEVICE_RATE_LIMIT_CLIENT: '100000001',
  GATEHOUSE_RATE_LIMIT_WINDOW: '0',
  GATEHOUSE_CLIENT_CACHE_TTL: '10m',
};

describe('configuration', () => {
  it('defaults give a working development configuration', () => {
    const c = load({});
    assert.equal(c.mode, 'development');
    assert.equal(c.issuer, 'http://localhost:3000');
    assert.equal(c.port, 3000);
    assert.equal(c.mtlsPort, 3443);
    assert.equal(c.store, 'sqlite');
    assert.ok(c.warnings.some((w) => w.startsWith('GATEHOUSE_ISSUER')));
  });

  for (const [env, value] of Object.entries(BAD)) {
    it(`refuses a malformed ${env} naming the variable`, () => {
      const p = problems({ [env]: value });
      assert.equal(p.length, 1, p.join('\n'));
      assert.match(p[0]!, new RegExp(`^${env}: `));
    });
  }

  it('reports every malformed variable, one line each', () => {
    const p = problems({ GATEHOUSE_PORT: '-1', GATEHOUSE_MODE: 'x', GATEHOUSE_LOG_LEVEL: 'y' });
    assert.equal(p.length, 3);
  });

  it('never echoes a secret value', () => {
    const p = problems({ GATEHOUSE_COOKIE_KEYS: 'hunter2-secret' });
    assert.ok(!p[0]!.includes('hunter2'));
  });

  it('every declared setting is exercised by the bad-value table or takes free text', () => {
    const freeText = new Set(['GATEHOUSE_HOST', 'GATEHOUSE_DATA_DIR', 'GATEHOUSE_CERTS_DIR', 'GATEHOUSE_TRUSTED_PROXIES', 'GATEHOUSE_SQLITE_FILE', 'GATEHOUSE_JWKS_FILE', 'GATEHOUSE_CLIENTS_FILE', 'GATEHOUSE_MTLS_CERT_FILE', 'GATEHOUSE_MTLS_KEY_FILE', 'GATEHOUSE_MTLS_CA_FILE', 'GATEHOUSE_RESOURCE_SERVERS_FILE', 'GATEHOUSE_ADMIN_HOST']);
    for (const s of Object.values(settings)) assert.ok(BAD[s.env] !== undefined || freeText.has(s.env), `${s.env} has no bad-value test`);
  });

  it('a client certificate header without trusted proxies is refused', () => {
    assert.match(problems({ GATEHOUSE_CLIENT_CERT_HEADER: 'ssl-client-cert' })[0]!, /^GATEHOUSE_CLIENT_CERT_HEADER: requires GATEHOUSE_TRUSTED_PROXIES/);
    assert.equal(load({ GATEHOUSE_CLIENT_CERT_HEADER: 'SSL-Client-Cert', GATEHOUSE_TRUSTED_PROXIES: '10.0.0.0/8' }).clientCertHeader, 'ssl-client-cert');
  });

  it('MONGODB_URI selects the mongodb store unless GATEHOUSE_STORE says otherwise', () => {
    assert.equal(load({ MONGODB_URI: 'mongodb://127.0.0.1/gh' }).store, 'mongodb');
    assert.equal(load({ MONGODB_URI: 'mongodb://127.0.0.1/gh', GATEHOUSE_STORE: 'sqlite' }).store, 'sqlite');
    assert.match(problems({ GATEHOUSE_STORE: 'mongodb' })[0]!, /^MONGODB_URI: /);
  });

  it('reads a .env file, with the environment taking precedence', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gh-env-'));
    writeFileSync(join(dir, '.env'), 'GATEHOUSE_PORT=4000\nGATEHOUSE_LOG_LEVEL=warn\n');
    const c = loadConfig({ env: { GATEHOUSE_LOG_LEVEL: 'error' }, cwd: dir });
    assert.equal(c.port, 4000);
    assert.equal(c.logLevel, 'error');
  });

  describe('production mode', () => {
    const prod = { GATEHOUSE_MODE: 'production', GATEHOUSE_ISSUER: 'https://auth.example.com', GATEHOUSE_JWKS_FILE: '/keys/jwks.json', GATEHOUSE_COOKIE_KEYS: 'k'.repeat(32), GATEHOUSE_MTLS_ENABLED: 'false' };
    it('accepts a complete production configuration without warnings', () => {
      assert.deepEqual(load(prod).warnings, []);
    });
    it('an insecure setting is named as not allowed, not as required (GATEHOUSE_JWKS_FILE)', () => {
      const p = problems({ ...prod, GATEHOUSE_JWKS_FILE: '' });
      assert.ok(p.includes('GATEHOUSE_JWKS_FILE: no signing keys supplied, so they would be generated into the data directory (not allowed in production mode)'), p.join('\n'));
    });
    it('with the mTLS listener, an https origin other than this machine is accepted (an internal address too)', () => {
      for (const origin of ['https://mtls.example.com', 'https://10.0.0.5:3443', 'https://localhost-proxy.example.com']) {
        const p = problems({ ...prod, GATEHOUSE_MTLS_ENABLED: 'true', GATEHOUSE_MTLS_ORIGIN: origin });
        assert.ok(!p.some((l) => l.startsWith('GATEHOUSE_MTLS_ORIGIN')), `${origin}: ${p.join('\n')}`);
      }
    });
    for (const [env, override] of [
      ['GATEHOUSE_JWKS_FILE', { GATEHOUSE_JWKS_FILE: '' }],
      ['GATEHOUSE_COOKIE_KEYS', { GATEHOUSE_COOKIE_KEYS: '' }],
      ['GATEHOUSE_ISSUER', { GATEHOUSE_ISSUER: 'http://auth.example.com' }],
      ['GATEHOUSE_STORE', { GATEHOUSE_STORE: 'memory' }],
      ['GATEHOUSE_MTLS_CERT_FILE', { GATEHOUSE_MTLS_ENABLED: 'true', GATEHOUSE_CERTS_DIR: '/nonexistent/certs' }],
      ['GATEHOUSE_MTLS_KEY_FILE', { GATEHOUSE_MTLS_ENABLED: 'true', GATEHOUSE_CERTS_DIR: '/nonexistent/certs' }],
      ['GATEHOUSE_MTLS_CA_FILE', { GATEHOUSE_MTLS_ENABLED: 'true', GATEHOUSE_CERTS_DIR: '/nonexistent/certs' }],
      // The default origin is this machine: discovery would send every certificate client to localhost.
      ['GATEHOUSE_MTLS_ORIGIN', { GATEHOUSE_MTLS_ENABLED: 'true' }],
      ['GATEHOUSE_MTLS_ORIGIN', { GATEHOUSE_MTLS_ENABLED: 'true', GATEHOUSE_MTLS_ORIGIN: 'https://127.0.0.1:3443' }],
      ['GATEHOUSE_MTLS_ORIGIN', { GATEHOUSE_MTLS_ENABLED: 'true', GATEHOUSE_MTLS_ORIGIN: 'http://mtls.example.com' }],
      // Other spellings of this machine.
      ...['https://localhost.:3443', 'https://LOCALHOST', 'https://api.localhost', 'https://[::ffff:127.0.0.1]:3443', 'https://[::1]', 'https://0.0.0.0', 'https://[::]', 'https://0x7f.1', 'https://127.1.2.3'].map(
        (origin) => ['GATEHOUSE_MTLS_ORIGIN', { GATEHOUSE_MTLS_ENABLED: 'true', GATEHOUSE_MTLS_ORIGIN: origin }] as const,
      ),
    ] as const) {
      it(`refuses a missing or insecure ${env}`, () => {
        const p = problems({ ...prod, ...override });
        assert.ok(p.some((l) => l.startsWith(`${env}: `)), p.join('\n'));
      });
    }
  });
});

describe('configuration errors through the real CLI', () => {
  it('a malformed value exits 2 with one line naming the variable', async () => {
    const r = await runCli(['serve'], { env: { GATEHOUSE_PORT: 'eighty' } });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /GATEHOUSE_PORT: must be a whole number/);
  });
  it('production without keys exits 2 naming each missing setting', async () => {
    const r = await runCli(['serve'], { env: { GATEHOUSE_MODE: 'production', GATEHOUSE_ISSUER: 'http://auth.example.com' } });
    assert.equal(r.status, 2);
    for (const env of ['GATEHOUSE_ISSUER', 'GATEHOUSE_JWKS_FILE', 'GATEHOUSE_COOKIE_KEYS']) assert.match(r.stderr, new RegExp(`${env}: `));
  });
  it('a production JWKS file that does not exist exits 2 naming the setting', async () => {
    const r = await runCli(['serve'], {
      env: { GATEHOUSE_MODE: 'production', GATEHOUSE_ISSUER: 'https://auth.example.com', GATEHOUSE_JWKS_FILE: '/nonexistent/jwks.json', GATEHOUSE_COOKIE_KEYS: 'k'.repeat(40), GATEHOUSE_DATA_DIR: mkdtempSync(join(tmpdir(), 'gh-')), GATEHOUSE_MTLS_ENABLED: 'false' },
    });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /GATEHOUSE_JWKS_FILE: /);
  });
});
