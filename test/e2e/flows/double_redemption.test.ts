import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Store } from '../../../src/storage/adapter.ts';
import { CookieClient } from '../../helpers/browserless.ts';
import { authorizeWithForms, introspect, pkce, startCodeServer, tokenRequest, WEB_SECRET, type CodeServer, type TokenAnswer } from '../../helpers/code_flow.ts';

/**
 * Holds `store.consume` for `model` until two redemptions have reached it, so both requests have
 * found the record unconsumed and really do race on the store's conditional write (instead of
 * the second one arriving after the first finished, which is the sequential-reuse case).
 * Returns a function that restores the store.
 */
function rendezvousAtConsume(store: Store, model: string): () => void {
  const original = store.consume.bind(store);
  let arrived = 0;
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  // Never hang the suite if only one request gets this far: that shows up as a failed assertion.
  const safety = setTimeout(release, 30_000);
  store.consume = async (m: string, id: string) => {
    if (m === model) {
      arrived += 1;
      if (arrived === 2) release();
      await gate;
    }
    return original(m, id);
  };
  return () => {
    clearTimeout(safety);
    store.consume = original;
  };
}

function oneWinner(results: TokenAnswer[]): TokenAnswer {
  const winners = results.filter((r) => r.status === 200);
  assert.equal(winners.length, 1, JSON.stringify(results));
  const loser = results.find((r) => r.status !== 200)!;
  assert.equal(loser.status, 400);
  assert.equal(loser.body.error, 'invalid_grant');
  return winners[0]!;
}

async function assertDead(gh: CodeServer, answer: TokenAnswer): Promise<void> {
  for (const field of ['access_token', 'refresh_token'] as const) {
    const token = answer.body[field];
    assert.equal(typeof token, 'string', `the winner got a ${field}`);
    assert.equal((await introspect(gh, token as string)).active, false, `the winner's ${field} is revoked`);
  }
  const me = await fetch(`${gh.publicUrl}/me`, { headers: { authorization: `Bearer ${answer.body.access_token as string}` } });
  assert.equal(me.status, 401);
}

describe('a code or refresh token redeemed twice at the same time revokes what either redemption got', () => {
  let gh: CodeServer;
  before(async () => {
    gh = await startCodeServer();
  });
  after(() => gh.stop());

  async function codeFor(clientId: string, redirectUri: string) {
    const { verifier, challenge } = pkce();
    const redirect = await authorizeWithForms(gh, new CookieClient(gh), {
      client_id: clientId, redirect_uri: redirectUri, code_challenge: challenge, code_challenge_method: 'S256', scope: 'openid offline_access', prompt: 'consent',
    });
    return { code: redirect.searchParams.get('code')!, verifier };
  }

  it('authorization code (confidential client): the winner’s access and refresh tokens are revoked too', async () => {
    const { code, verifier } = await codeFor('webapp', gh.webRedirect);
    const form = { grant_type: 'authorization_code', code, redirect_uri: gh.webRedirect, code_verifier: verifier };
    const restore = rendezvousAtConsume(gh.store, 'AuthorizationCode');
    let results: TokenAnswer[];
    try {
      results = await Promise.all([0, 1].map(() => tokenRequest(gh, form, { id: 'webapp', secret: WEB_SECRET })));
    } finally {
      restore();
    }
    await assertDead(gh, oneWinner(results));
  });

  it('rotating refresh token (public client): the winner’s new pair is revoked too', async () => {
    const { code, verifier } = await codeFor('xxctl', 'http://127.0.0.1/callback');
    const first = await tokenRequest(gh, { grant_type: 'authorization_code', client_id: 'xxctl', code, redirect_uri: 'http://127.0.0.1/callback', code_verifier: verifier });
    assert.equal(first.status, 200, JSON.stringify(first.body));
    const form = { grant_type: 'refresh_token', client_id: 'xxctl', refresh_token: first.body.refresh_token as string };
    const restore = rendezvousAtConsume(gh.store, 'RefreshToken');
    let results: TokenAnswer[];
    try {
      results = await Promise.all([0, 1].map(() => tokenRequest(gh, form)));
    } finally {
      restore();
    }
    await assertDead(gh, oneWinner(results));
    assert.equal((await introspect(gh, first.body.access_token as string)).active, false, 'and the first access token of the grant');
  });

  it('sequential reuse of a code still revokes the first redemption’s tokens', async () => {
    const { code, verifier } = await codeFor('webapp', gh.webRedirect);
    const form = { grant_type: 'authorization_code', code, redirect_uri: gh.webRedirect, code_verifier: verifier };
    const first = await tokenRequest(gh, form, { id: 'webapp', secret: WEB_SECRET });
    assert.equal(first.status, 200);
    const second = await tokenRequest(gh, form, { id: 'webapp', secret: WEB_SECRET });
    assert.equal(second.body.error, 'invalid_grant');
    await assertDead(gh, first);
  });
});
