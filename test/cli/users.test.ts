import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Accounts } from '../../src/accounts/account.ts';
import { verifyPassword } from '../../src/accounts/password.ts';
import { SqliteStore } from '../../src/storage/sqlite/sqlite_store.ts';
import { runCli } from '../helpers/cli.ts';

describe('gatehouse users (through bin/gatehouse.js)', () => {
  let dir: string;
  let env: Record<string, string>;
  const cli = (args: string[], input?: string) => runCli(['users', ...args], { env, input, cwd: dir });
  async function account(username: string) {
    const store = new SqliteStore(join(dir, 'data', 'gatehouse.db'));
    try {
      return await new Accounts(store).findByUsername(username);
    } finally {
      await store.close();
    }
  }

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-users-'));
    env = { GATEHOUSE_DATA_DIR: join(dir, 'data') };
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('add creates a user with every attribute; the password comes from stdin and is stored as argon2id', async () => {
    const r = await cli(['add', 'Alice', '--email', 'alice@example.com', '--email-verified', '--name', 'Alice Liddell', '--groups', 'eng, oncall', '--uid', '1001', '--gid', '100', '--password-stdin'], 'wonderland-1865\n');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /created user alice \(sub [0-9a-f-]{36}\)/);
    const a = await account('alice');
    assert.ok(a);
    assert.equal(a.email, 'alice@example.com');
    assert.equal(a.emailVerified, true);
    assert.deepEqual(a.groups, ['eng', 'oncall']);
    assert.equal(a.uidNumber, 1001);
    assert.equal(a.gidNumber, 100);
    assert.match(a.passwordHash, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    assert.equal(await verifyPassword('wonderland-1865', a.passwordHash), true);
    assert.ok(!r.stdout.includes('wonderland') && !r.stderr.includes('wonderland'));
  });

  it('a duplicate username (in any case) is refused with a clear error, exit 1', async () => {
    const r = await cli(['add', 'ALICE', '--password-stdin'], 'another-password');
    assert.equal(r.status, 1);
    assert.match(r.stderr, /user alice already exists/);
  });

  it('bad input exits 2 with the reason', async () => {
    const good = 'long-enough-password';
    for (const [args, input, message] of [
      [['add', 'bob', '--uid', 'x', '--password-stdin'], good, /--uid must be a whole number/],
      [['add', 'bob', '--uid', '5', '--password-stdin'], good, /--uid and --gid go together/],
      [['add', 'bad name!', '--password-stdin'], good, /invalid username/],
      [['add', 'bob', '--email', 'nope', '--password-stdin'], good, /invalid email/],
      [['add', 'bob', '--password-stdin'], 'short', /at least 8 characters/],
    ] as const) {
      const r = await cli([...args], input);
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
    }
    const noTty = await cli(['add', 'bob']);
    assert.equal(noTty.status, 2);
    assert.match(noTty.stderr, /--password-stdin/);
  });

  it('list shows users as a table and as JSON without secrets', async () => {
    const table = await cli(['list']);
    assert.equal(table.status, 0);
    assert.match(table.stdout, /USERNAME\s+SOURCE\s+NAME\s+EMAIL/);
    assert.match(table.stdout, /alice\s+local\s+Alice Liddell\s+alice@example.com\s+eng,oncall\s+1001\s+100\s+no\s+active/);
    const json = await cli(['list', '--json']);
    assert.equal(json.status, 0);
    const parsed = JSON.parse(json.stdout) as Array<Record<string, unknown>>;
    assert.equal(parsed[0]?.username, 'alice');
    assert.ok(!json.stdout.includes('argon2'));
  });

  it('passwd changes the password', async () => {
    const r = await cli(['passwd', 'alice', '--password-stdin'], 'through-the-looking-glass');
    assert.equal(r.status, 0, r.stderr);
    const a = await account('alice');
    assert.equal(await verifyPassword('through-the-looking-glass', a!.passwordHash), true);
    assert.equal(await verifyPassword('wonderland-1865', a!.passwordHash), false);
  });

  it('disable and enable', async () => {
    assert.equal((await cli(['disable', 'alice'])).status, 0);
    assert.equal((await account('alice'))!.disabled, true);
    assert.match((await cli(['list'])).stdout, /alice.*disabled/);
    assert.equal((await cli(['enable', 'alice'])).status, 0);
    assert.equal((await account('alice'))!.disabled, false);
  });

  it('totp enroll prints an otpauth URI and a terminal QR code; totp remove takes it away', async () => {
    const r = await cli(['totp', 'enroll', 'alice']);
    assert.equal(r.status, 0, r.stderr);
    const uri = /otpauth:\/\/totp\/\S+/.exec(r.stdout)?.[0];
    assert.ok(uri, r.stdout);
    const secret = new URL(uri).searchParams.get('secret');
    assert.equal((await account('alice'))!.totpSecret, secret);
    assert.match(r.stdout, /[▄█▀]/);
    assert.equal((await cli(['totp', 'remove', 'alice'])).status, 0);
    assert.equal((await account('alice'))!.totpSecret, undefined);
  });

  it('unknown users are named in the error, exit 1', async () => {
    for (const args of [['passwd', 'nobody', '--password-stdin'], ['disable', 'nobody'], ['remove', 'nobody'], ['totp', 'enroll', 'nobody']]) {
      const r = await cli(args, 'long-enough-password');
      assert.equal(r.status, 1, args.join(' '));
      assert.match(r.stderr, /user nobody not found/);
    }
  });

  it('remove deletes the user and frees the name', async () => {
    assert.equal((await cli(['remove', 'alice'])).status, 0);
    assert.equal(await account('alice'), undefined);
    assert.match((await cli(['list'])).stdout, /no users/);
    assert.equal((await cli(['add', 'alice', '--password-stdin'], 'a-new-alice-password')).status, 0);
  });
});
