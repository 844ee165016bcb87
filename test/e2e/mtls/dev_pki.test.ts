import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError } from '../../../src/shared/errors.ts';
import { startTestServer } from '../../helpers/server.ts';
import { curl } from '../../helpers/mtls_curl.ts';

describe('development PKI on start', () => {
  it('an empty certs dir gets a development CA and a localhost/127.0.0.1/::1 server certificate, and the log says so', async () => {
    const gh = await startTestServer();
    try {
      const generated = gh.logs.find((l) => l.event === 'dev_pki_generated');
      assert.ok(generated, 'no dev_pki_generated log line');
      assert.equal(generated.level, 'warn');
      const certs = gh.config.certsDir;
      for (const key of ['root_ca.key', 'server.key']) assert.equal(statSync(join(certs, key)).mode & 0o777, 0o600, key);
      const cacert = join(certs, 'root_ca.crt');
      for (const host of ['localhost', '127.0.0.1']) {
        const res = await curl(`https://${host}:${gh.ports.mtls}/healthz/live`, { cacert });
        assert.equal(res.status, 200, `${host}: ${res.raw}`);
      }
      const listening = gh.logs.find((l) => l.event === 'listening');
      assert.equal(listening?.mtlsUrl, gh.mtlsUrl);
      assert.ok(!gh.logText().includes('PRIVATE KEY'), 'private key material in the log');
    } finally {
      await gh.stop();
    }
  });

  it('GATEHOUSE_MTLS_ENABLED=false runs no mTLS listener, generates nothing and advertises no aliases', async () => {
    const gh = await startTestServer({ GATEHOUSE_MTLS_ENABLED: 'false' });
    try {
      assert.equal(gh.ports.mtls, undefined);
      assert.equal(gh.mtlsUrl, undefined);
      assert.ok(!existsSync(join(gh.config.certsDir, 'server.crt')));
      const body = (await (await fetch(`${gh.publicUrl}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
      assert.equal(body.mtls_endpoint_aliases, undefined);
    } finally {
      await gh.stop();
    }
  });

  it('explicitly named certificate files that do not exist are a configuration error, never generated', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gh-missing-'));
    try {
      await assert.rejects(
        startTestServer({ GATEHOUSE_MTLS_CERT_FILE: join(dir, 'nope.crt'), GATEHOUSE_MTLS_KEY_FILE: join(dir, 'nope.key'), GATEHOUSE_MTLS_CA_FILE: join(dir, 'ca.crt') }),
        (err: unknown) => err instanceof ConfigError && /GATEHOUSE_MTLS_CERT_FILE/.test(err.message),
      );
      assert.ok(!existsSync(join(dir, 'nope.crt')));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
