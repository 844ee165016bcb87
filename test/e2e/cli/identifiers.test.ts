import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { digestId, randomId } from '../../../src/shared/random_id.ts';
import { createRegistrationToken, hashRegistrationToken, redeemRegistrationToken } from '../../../src/storage/registration_tokens.ts';
import { runCli } from '../../helpers/cli.ts';
import { startTestServer, type TestServer } from '../../helpers/server.ts';

/**
 * Every identifier we generate can be typed after a command, and every command that takes an
 * identifier accepts `--` before it (POSIX utility syntax guideline 10), so one that starts with
 * `-` (an id stored by an older version, or a client registered elsewhere) can still be named.
 */
let gh: TestServer;
let dir: string;
let env: Record<string, string>;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'gh-identifiers-'));
  gh = await startTestServer({ GATEHOUSE_STORE: 'sqlite' });
  env = { GATEHOUSE_DATA_DIR: gh.config.dataDir, GATEHOUSE_ISSUER: gh.config.issuer, GATEHOUSE_CERTS_DIR: join(dir, 'certs') };
});
after(async () => {
  await gh.stop();
  rmSync(dir, { recursive: true, force: true });
});

const cli = (args: string[], input?: string) => runCli(args, { env, input });

describe('generated identifiers', () => {
  it('random ids and digest ids never start with "-"', () => {
    for (let i = 0; i < 5000; i++) {
      assert.match(randomId(), /^[A-Za-z0-9]{24}$/);
      assert.match(digestId('iat', String(i)), /^iat_[A-Za-z0-9_-]{43}$/);
    }
    // About one bare base64url SHA-256 in 64 starts with "-": the case the prefix is there for.
    const dashed = Array.from({ length: 2000 }, (_, i) => String(i)).find((s) => createHash('sha256').update(s).digest('base64url').startsWith('-'));
    assert.ok(dashed !== undefined);
    assert.ok(!digestId('iat', dashed).startsWith('-'));
  });

  it('initial access tokens stored under a bare SHA-256 by an older version still register', async () => {
    const { token, id } = await createRegistrationToken(gh.store, { ttlSeconds: 600 });
    assert.match(id, /^iat_/);
    const record = await gh.store.find('RegistrationToken', id);
    await gh.store.destroy('RegistrationToken', id);
    await gh.store.upsert('RegistrationToken', createHash('sha256').update(token).digest('base64url'), record!, 600);
    assert.equal(await redeemRegistrationToken(gh.store, token), 'ok');
    assert.equal(await redeemRegistrationToken(gh.store, `${token}x`), 'unknown');
  });
});

describe('commands taking an identifier accept -- before it', () => {
  it('registration-token revoke', async () => {
    const created = await cli(['registration-token', 'create']);
    assert.equal(created.status, 0, created.stderr);
    const id = /\(id ([^)]+)\)/.exec(created.stderr)![1]!;
    assert.equal(id, hashRegistrationToken(created.stdout.trim()));
    assert.ok(!id.startsWith('-'));
    assert.equal((await cli(['registration-token', 'revoke', '--', id])).status, 0);

    // An id from before the prefix that starts with "-": refused as an option, with a hint; named after --.
    const legacy = '-Xt5u2YI78legacyTokenId0123456789abcdefghi';
    await gh.store.upsert('RegistrationToken', legacy, { createdAt: 0, expiresAt: Math.floor(Date.now() / 1000) + 600, uses: null }, 600);
    const bare = await cli(['registration-token', 'revoke', legacy]);
    assert.equal(bare.status, 2);
    assert.match(bare.stderr, /after "--"/);
    const dashed = await cli(['registration-token', 'revoke', '--', legacy]);
    assert.equal(dashed.status, 0, dashed.stderr);
    assert.equal(await gh.store.find('RegistrationToken', legacy), undefined);
  });

  it('clients show, update and remove', async () => {
    const id = '-legacy-client';
    await gh.store.upsert('Client', id, { client_id: id, client_secret: 'x'.repeat(43), grant_types: ['client_credentials'], response_types: [], redirect_uris: [], token_endpoint_auth_method: 'client_secret_basic' });
    const show = await cli(['clients', 'show', '--', id]);
    assert.equal(show.status, 0, show.stderr);
    assert.equal(JSON.parse(show.stdout).client_id, id);
    const update = await cli(['clients', 'update', '--name', 'Renamed', '--', id]);
    assert.equal(update.status, 0, update.stderr);
    assert.equal((await gh.store.find('Client', id))?.client_name, 'Renamed');
    const remove = await cli(['clients', 'remove', '--', id]);
    assert.equal(remove.status, 0, remove.stderr);
    assert.equal(await gh.store.find('Client', id), undefined);
  });

  it('clients add names the new client with a generated id that never starts with "-"', async () => {
    const add = await cli(['clients', 'add', '--grant', 'client_credentials']);
    assert.equal(add.status, 0, add.stderr);
    const id = JSON.parse(add.stdout).client_id as string;
    assert.match(id, /^[A-Za-z0-9]+$/);
    assert.equal((await cli(['clients', 'remove', '--', id])).status, 0);
  });

  it('users add, passwd, disable, enable, totp enroll, totp remove and remove', async () => {
    const steps: Array<[string[], string?]> = [
      [['users', 'add', '--password-stdin', '--', 'carol'], 'first password'],
      [['users', 'passwd', '--password-stdin', '--', 'carol'], 'second password'],
      [['users', 'disable', '--', 'carol']],
      [['users', 'enable', '--', 'carol']],
      [['users', 'totp', 'enroll', '--', 'carol']],
      [['users', 'totp', 'remove', '--', 'carol']],
      [['users', 'remove', '--', 'carol']],
    ];
    for (const [args, input] of steps) {
      const r = await cli(args, input);
      assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
    }
  });

  it('certs issue', async () => {
    assert.equal((await cli(['certs', 'init'])).status, 0);
    const out = join(dir, 'issued');
    const r = await cli(['certs', 'issue', '--out', out, '--', 'svc-a']);
    assert.equal(r.status, 0, r.stderr);
    assert.ok(existsSync(join(out, 'svc-a.crt')));
  });
});
