import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Secret, TOTP } from 'otpauth';
import { Accounts } from '../../src/accounts/account.ts';
import { hashPassword, verifyPassword } from '../../src/accounts/password.ts';
import { SignIn } from '../../src/accounts/sign_in.ts';
import { newTotp } from '../../src/accounts/totp.ts';
import { MemoryStore } from '../../src/storage/memory/memory_store.ts';

const LIMITS = { failuresPerAccount: 3, failuresPerIp: 5, windowSeconds: 60 };

describe('password hashing', () => {
  it('argon2id with OWASP parameters and a fresh salt each time; verifies only the right password', async () => {
    const a = await hashPassword('hunter2-but-longer');
    const b = await hashPassword('hunter2-but-longer');
    assert.match(a, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
    assert.notEqual(a, b);
    assert.equal(await verifyPassword('hunter2-but-longer', a), true);
    assert.equal(await verifyPassword('hunter2-but-longeR', a), false);
    assert.equal(await verifyPassword('anything', 'not a hash'), false);
  });
});

describe('accounts', () => {
  it('have an opaque stable id; usernames are unique case-insensitively, even when added concurrently', async () => {
    const accounts = new Accounts(new MemoryStore());
    const results = await Promise.allSettled([1, 2, 3].map(() => accounts.create({ username: 'Carol', password: 'long-enough-pw' })));
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
    const rejected = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    assert.equal(rejected.reason.code, 'ERR_ALREADY_EXISTS');
    const carol = await accounts.get('CAROL');
    assert.match(carol.id, /^[0-9a-f-]{36}$/);
    assert.equal(carol.username, 'carol');
    assert.equal((await accounts.setPassword('carol', 'another-long-pw')).id, carol.id);
  });
});

describe('sign-in', () => {
  async function setup() {
    const store = new MemoryStore();
    const accounts = new Accounts(store);
    const dave = await accounts.create({ username: 'dave', password: 'daves-password' });
    return { store, accounts, dave, signIn: new SignIn(store, LIMITS) };
  }

  it('a wrong password, an unknown user and a disabled user get the same answer', async () => {
    const { accounts, dave, signIn } = await setup();
    assert.deepEqual(await signIn.password('dave', 'wrong', '10.0.0.1'), { ok: false });
    assert.deepEqual(await signIn.password('nobody', 'daves-password', '10.0.0.2'), { ok: false });
    await accounts.update(dave, { disabled: true });
    assert.deepEqual(await signIn.password('dave', 'daves-password', '10.0.0.3'), { ok: false });
    await accounts.update(dave, { disabled: false });
    const ok = await signIn.password('DAVE', 'daves-password', '10.0.0.3');
    assert.equal(ok.ok, true);
  });

  it('failures are throttled per account (from any IP), also for accounts that do not exist', async () => {
    const { signIn } = await setup();
    for (const user of ['dave', 'nobody']) {
      assert.deepEqual(await signIn.password(user, 'x1', '10.0.1.1'), { ok: false });
      assert.deepEqual(await signIn.password(user, 'x2', '10.0.1.2'), { ok: false });
      const third = await signIn.password(user, 'x3', '10.0.1.3');
      assert.equal(third.ok, false);
      assert.ok(!third.ok && third.retryAfter && third.retryAfter > 0);
    }
    // Locked: even the right password is refused until the window ends.
    const locked = await signIn.password('dave', 'daves-password', '10.0.1.9');
    assert.ok(!locked.ok && locked.retryAfter);
  });

  it('failures are throttled per IP across accounts', async () => {
    const { signIn } = await setup();
    for (let i = 0; i < 4; i++) assert.deepEqual(await signIn.password(`user${i}`, 'x', '10.0.2.1'), { ok: false });
    const fifth = await signIn.password('user9', 'x', '10.0.2.1');
    assert.ok(!fifth.ok && fifth.retryAfter);
    const locked = await signIn.password('dave', 'daves-password', '10.0.2.1');
    assert.ok(!locked.ok && locked.retryAfter);
    assert.equal((await signIn.password('dave', 'daves-password', '10.0.2.2')).ok, true);
  });

  it('TOTP: the current code works once; wrong and replayed codes are refused', async () => {
    const { accounts, dave, signIn } = await setup();
    const enrollment = newTotp('Gatehouse', 'dave');
    assert.match(enrollment.uri, /^otpauth:\/\/totp\/Gatehouse:dave\?.*secret=/);
    await accounts.update(dave, { totpSecret: enrollment.secret });
    const secret = Secret.fromBase32(enrollment.secret);
    const code = TOTP.generate({ secret });
    const valid = new Set([-30_000, 0, 30_000].map((d) => TOTP.generate({ secret, timestamp: Date.now() + d })));
    let wrong = '123456';
    for (let n = 0; valid.has(wrong); n++) wrong = String(n).padStart(6, '0');
    assert.deepEqual(await signIn.totp(dave.id, wrong, '10.0.3.1'), { ok: false });
    assert.deepEqual(await signIn.totp(dave.id, 'abcdef', '10.0.3.1'), { ok: false });
    assert.equal((await signIn.totp(dave.id, code, '10.0.3.1')).ok, true);
    assert.equal((await signIn.totp(dave.id, code, '10.0.3.1')).ok, false);
  });
});
