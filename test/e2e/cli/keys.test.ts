import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { runCli, startServe } from '../../helpers/cli.ts';
import { freePort } from '../../helpers/server.ts';

const dir = mkdtempSync(join(tmpdir(), 'gh-keys-'));
after(() => rmSync(dir, { recursive: true, force: true }));

type Jwk = { kid: string; alg: string; key_ops?: string[]; d?: string };

describe('gatehouse keys list|add|rotate|prune against a running server', () => {
  it('publishes before signing, keeps old keys verifying, prunes them, all without a restart', async () => {
    const port = await freePort();
    const env = { GATEHOUSE_DATA_DIR: join(dir, 'data'), GATEHOUSE_PORT: String(port), GATEHOUSE_ISSUER: `http://127.0.0.1:${port}` };
    const jwks = async () => ((await (await fetch(`http://127.0.0.1:${port}/jwks`)).json()) as { keys: Jwk[] }).keys;
    const server = startServe(env);
    try {
      await server.waitForLog((l) => l.event === 'listening');
      const original = (await jwks()).map((k) => k.kid);
      assert.equal(original.length, 2);

      const rotated = await runCli(['keys', 'rotate', '--activate-in', '3s'], { env });
      assert.equal(rotated.status, 0, rotated.stderr);
      assert.equal(statSync(join(dir, 'data', 'jwks.json')).mode & 0o777, 0o600);
      const published = await server.waitForLog((l) => l.event === 'keys.rotated' && (l.added as string[]).length === 2);
      const added = published.added as string[];
      assert.deepEqual(published.signing, original, 'old keys still sign while the new ones are only published');
      const during = await jwks();
      assert.equal(during.length, 4);
      for (const k of during) assert.equal(k.d, undefined);
      assert.deepEqual(during.filter((k) => added.includes(k.kid)).map((k) => k.key_ops), [['verify'], ['verify']]);

      const activated = await server.waitForLog((l) => l.event === 'keys.rotated' && JSON.stringify(l.signing) === JSON.stringify(added));
      assert.deepEqual(activated.added, []);
      const afterActivation = await jwks();
      assert.equal(afterActivation.length, 4, 'retired keys keep verifying');
      assert.deepEqual(afterActivation.filter((k) => original.includes(k.kid)).map((k) => k.key_ops), [['verify'], ['verify']]);

      const listed = await runCli(['keys', 'list', '--json'], { env });
      const states = JSON.parse(listed.stdout) as Array<{ kid: string; state: string }>;
      assert.deepEqual(states.map((s) => s.state), ['active', 'active', 'retired', 'retired']);

      const kept = await runCli(['keys', 'prune'], { env });
      assert.match(kept.stdout, /nothing to prune/, 'the default grace keeps recently retired keys');
      const pruned = await runCli(['keys', 'prune', '--grace', '0'], { env });
      assert.equal(pruned.status, 0, pruned.stderr);
      await server.waitForLog((l) => l.event === 'keys.rotated' && (l.removed as string[]).length === 2);
      assert.deepEqual((await jwks()).map((k) => k.kid).sort(), [...added].sort());
    } finally {
      server.child.kill('SIGTERM');
      await server.exited;
    }
  });

  it('an EdDSA resource server: serve refuses without an EdDSA key, `keys add EdDSA` fixes that, its tokens survive a rotation', async () => {
    const port = await freePort();
    const secret = 'ed-service-secret-0123456789abcdefghij';
    const api = 'https://ed.example.com';
    writeFileSync(join(dir, 'ed-clients.json'), JSON.stringify([
      { client_id: 'svc', client_secret: secret, token_endpoint_auth_method: 'client_secret_basic', grant_types: ['client_credentials'], response_types: [], redirect_uris: [] },
    ]));
    writeFileSync(join(dir, 'ed-resources.json'), JSON.stringify({ [api]: { scope: 'read', signingAlg: 'EdDSA' } }));
    const env = {
      GATEHOUSE_DATA_DIR: join(dir, 'ed-data'),
      GATEHOUSE_PORT: String(port),
      GATEHOUSE_ISSUER: `http://127.0.0.1:${port}`,
      GATEHOUSE_CLIENTS_FILE: join(dir, 'ed-clients.json'),
      GATEHOUSE_RESOURCE_SERVERS_FILE: join(dir, 'ed-resources.json'),
    };
    const tokenKid = async () => {
      const res = await fetch(`http://127.0.0.1:${port}/token`, {
        method: 'POST',
        headers: { authorization: `Basic ${Buffer.from(`svc:${secret}`).toString('base64')}` },
        body: new URLSearchParams({ grant_type: 'client_credentials', resource: api, scope: 'read' }),
      });
      const body = (await res.json()) as Record<string, string>;
      assert.equal(res.status, 200, JSON.stringify(body));
      const { protectedHeader } = await jwtVerify(body.access_token!, createRemoteJWKSet(new URL(`http://127.0.0.1:${port}/jwks`)), { audience: api });
      assert.equal(protectedHeader.alg, 'EdDSA');
      return protectedHeader.kid;
    };

    const refused = startServe(env);
    // Should it start anyway, stop it so the assertion below fails instead of waiting forever.
    void refused.waitForLog((l) => l.event === 'listening').then(() => refused.child.kill('SIGTERM'), () => {});
    assert.equal(await refused.exited, 2, 'a configuration error');
    const stderr = refused.stderr();
    for (const part of ['GATEHOUSE_RESOURCE_SERVERS_FILE', join(dir, 'ed-resources.json'), `${api} has signingAlg EdDSA`, 'the active keys sign ES256, RS256', '`gatehouse keys add EdDSA`']) {
      assert.ok(stderr.includes(part), `${part} in ${stderr}`);
    }

    const added = await runCli(['keys', 'add', 'EdDSA', '--activate-in', '0'], { env });
    assert.equal(added.status, 0, added.stderr);
    const edKid = /^added (\S+) \(EdDSA\)/.exec(added.stdout)?.[1];
    assert.ok(edKid, added.stdout);

    const server = startServe(env);
    try {
      await server.waitForLog((l) => l.event === 'listening');
      assert.equal(await tokenKid(), edKid);

      const rotated = await runCli(['keys', 'rotate', '--activate-in', '2s'], { env });
      assert.equal(rotated.status, 0, rotated.stderr);
      const published = await server.waitForLog((l) => l.event === 'keys.rotated' && (l.added as string[]).length > 0);
      const successors = published.added as string[];
      assert.equal(successors.length, 3, 'a successor each for the RS256, ES256 and EdDSA keys');
      await server.waitForLog((l) => l.event === 'keys.rotated' && JSON.stringify(l.signing) === JSON.stringify(successors));
      const successor = await tokenKid();
      assert.ok(successor && successors.includes(successor) && successor !== edKid, 'the EdDSA successor signs');
      assert.ok(!server.logs.some((l) => l.event === 'keys.reload_failed' || l.event === 'server_error'));
    } finally {
      server.child.kill('SIGTERM');
      await server.exited;
    }
  });

  it('bad durations and a missing keys file exit 2', async () => {
    const env = { GATEHOUSE_DATA_DIR: join(dir, 'empty') };
    assert.equal((await runCli(['keys', 'list'], { env })).status, 2);
    assert.equal((await runCli(['keys', 'rotate', '--activate-in', 'soon', '--file', join(dir, 'data', 'jwks.json')], { env })).status, 2);
    const unknownAlg = await runCli(['keys', 'add', 'HS256', '--file', join(dir, 'data', 'jwks.json')], { env });
    assert.equal(unknownAlg.status, 2);
    assert.match(unknownAlg.stderr, /<alg>: must be one of ES256, .*EdDSA/);
  });
});
