import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Attribute, Change } from 'ldapts';
import { Accounts } from '../../../src/accounts/account.ts';
import { jwtClaims } from '../../helpers/device.ts';
import { BASE_DN } from './slapd.ts';
import { LOCAL_PASSWORD, type LdapWorld, openSignIn, refresh, startLdapWorld, submitDirectory, tokensFor } from './world.ts';

const person = (uid: string) => `uid=${uid},ou=people,${BASE_DN}`;

/** The `corp` connector re-checks at every refresh (`recheckSeconds: 0`). */
describe('directory accounts on refresh: re-checked against a real slapd', () => {
  let w: LdapWorld;

  before(async () => {
    w = await startLdapWorld();
  });
  after(() => w?.stop());

  test('a user locked in the directory (ppolicy pwdAccountLockedTime) loses access at the next refresh; unlocked, signs in to the same account', async () => {
    const tokens = await tokensFor(w.gh, 'corp', 'alice', w.directory.passwords.alice);
    const sub = jwtClaims(String(tokens.id_token)).sub;
    const first = await refresh(w.gh, String(tokens.refresh_token));
    assert.equal(first.status, 200, JSON.stringify(first.body));

    const admin = await w.directory.admin();
    await admin.modify(person('alice'), new Change({ operation: 'add', modification: new Attribute({ type: 'pwdAccountLockedTime', values: ['000001010000Z'] }) }));
    const refused = await refresh(w.gh, String(first.body.refresh_token));
    assert.equal(refused.status, 400);
    assert.equal(refused.body.error, 'invalid_grant');
    assert.ok(w.gh.logs.some((l) => l.event === 'account.recheck_refused' && l.sub === sub && l.connector === 'corp'));
    // The grant is gone: its access token no longer reaches userinfo.
    const userinfo = await fetch(`${w.gh.publicUrl}/me`, { headers: { authorization: `Bearer ${String(first.body.access_token)}` } });
    assert.equal(userinfo.status, 401);
    // A locked person cannot sign in either, and is told nothing more than a wrong password.
    const again = await submitDirectory(await openSignIn(w.gh), 'corp', 'alice', w.directory.passwords.alice);
    assert.equal(again.res.status, 401);
    assert.match(again.text, /Incorrect username or password\./);

    await admin.modify(person('alice'), new Change({ operation: 'delete', modification: new Attribute({ type: 'pwdAccountLockedTime', values: [] }) }));
    await admin.unbind();
    const back = await tokensFor(w.gh, 'corp', 'alice', w.directory.passwords.alice);
    assert.equal(jwtClaims(String(back.id_token)).sub, sub);
  });

  test('a user deleted from the directory loses access at the next refresh', async () => {
    const tokens = await tokensFor(w.gh, 'corp', 'carol', w.directory.passwords.carol);
    const admin = await w.directory.admin();
    await admin.del(person('carol'));
    await admin.unbind();
    const refused = await refresh(w.gh, String(tokens.refresh_token));
    assert.equal(refused.body.error, 'invalid_grant');
  });

  test('a renamed user keeps their account: refresh and sign-in under the new name give the same sub and the new username', async () => {
    const tokens = await tokensFor(w.gh, 'corp', 'dave', w.directory.passwords.dave);
    const sub = jwtClaims(String(tokens.id_token)).sub;
    const admin = await w.directory.admin();
    await admin.modifyDN(person('dave'), 'uid=david');
    await admin.modify(`cn=engineering,ou=groups,${BASE_DN}`, [
      new Change({ operation: 'delete', modification: new Attribute({ type: 'memberUid', values: ['dave'] }) }),
      new Change({ operation: 'add', modification: new Attribute({ type: 'memberUid', values: ['david'] }) }),
    ]);
    await admin.unbind();
    const refreshed = await refresh(w.gh, String(tokens.refresh_token));
    assert.equal(refreshed.status, 200, JSON.stringify(refreshed.body));
    const claims = jwtClaims(String(refreshed.body.id_token));
    assert.equal(claims.sub, sub);
    assert.equal(claims.preferred_username, 'david');
    const signIn = await tokensFor(w.gh, 'corp', 'david', w.directory.passwords.dave);
    assert.equal(jwtClaims(String(signIn.id_token)).sub, sub);
    const old = await submitDirectory(await openSignIn(w.gh), 'corp', 'dave', w.directory.passwords.dave);
    assert.equal(old.res.status, 401);
    const accounts = (await new Accounts(w.gh.store).list()).filter((a) => a.upstream?.connector === 'corp');
    assert.equal(accounts.filter((a) => a.id === sub).length, 1);
    assert.equal(accounts.length, 3, 'alice, carol (deleted in the directory, her record stays here) and dave/david');
  });

  test('the directory down at refresh: 503 temporarily_unavailable (fail closed), local accounts unaffected, the same refresh token works once it is back', async () => {
    const tokens = await tokensFor(w.gh, 'corp', 'alice', w.directory.passwords.alice);
    const local = await tokensFor(w.gh, 'local', 'localuser', LOCAL_PASSWORD);
    await w.directory.down();
    try {
      const r = await refresh(w.gh, String(tokens.refresh_token));
      assert.equal(r.status, 503, JSON.stringify(r.body));
      assert.equal(r.body.error, 'temporarily_unavailable');
      assert.ok(w.gh.logs.some((l) => l.event === 'account.recheck_unreachable'));
      const l = await refresh(w.gh, String(local.refresh_token));
      assert.equal(l.status, 200, JSON.stringify(l.body));
    } finally {
      await w.directory.up();
    }
    const r = await refresh(w.gh, String(tokens.refresh_token));
    assert.equal(r.status, 200, JSON.stringify(r.body));
  });
});
