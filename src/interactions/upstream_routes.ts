import Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import { ACR } from '../accounts/claims.ts';
import { federatedSignIn, type Refusal } from '../accounts/federated.ts';
import type { AccountRecheck } from '../accounts/source_recheck.ts';
import { UpstreamError, type UpstreamClient, type UpstreamProblem, type UpstreamSignIn } from '../accounts/upstream_client.ts';
import type { Audit } from '../shared/audit.ts';
import type { Logger } from '../shared/logger.ts';
import { renderPage } from '../shared/views.ts';
import type { Store } from '../storage/adapter.ts';
import type { Details, InteractionKit } from './kit.ts';

/** Pending upstream sign-ins: `state` → interaction, connector, nonce and PKCE verifier. */
const UPSTREAM_STATE = 'UpstreamState';
/** How long a person may spend at the upstream before the callback is refused. */
const UPSTREAM_WINDOW = 900;

export interface UpstreamRouteOptions {
  store: Store;
  logger: Logger;
  audit: Audit;
  upstream: UpstreamClient[];
  /** Keeps the upstream tokens of each sign-in for the offboarding re-check at refresh time. */
  recheck: AccountRecheck;
}

/** The redirect URI to register at the upstream for a connector. */
export function callbackPath(connectorId: string): string {
  return `/upstream/${connectorId}/callback`;
}

const PROBLEM_PAGES: Record<UpstreamProblem, { title: string; text: (label: string) => string }> = {
  unavailable: { title: 'Sign-in service unavailable', text: (l) => `${l} is not answering right now. Try again in a few minutes; if it keeps happening, tell your administrator.` },
  misconfigured: { title: 'Sign-in service misconfigured', text: (l) => `Sign-in with ${l} is not set up correctly on this server. Tell your administrator.` },
  upstream_error: { title: 'Sign-in not completed', text: (l) => `${l} did not sign you in. You may have cancelled, or it refused the request.` },
  rejected: { title: 'Sign-in response refused', text: (l) => `The answer from ${l} could not be verified, so it was refused. This happens when a sign-in link is used twice, has been altered, or did not come from ${l}. Start again from the application.` },
};

const REFUSALS: Record<Refusal, string> = {
  domain: 'Your email address is not in a domain allowed to use this service.',
  group: 'Your account is not in a group allowed to use this service.',
  disabled: 'Your account has been disabled on this server. Contact your administrator.',
  claims: 'Your organisation did not send the details this server needs to identify you.',
};

/**
 * Ends a device authorization with `access_denied` at once, as oidc-provider does when a person
 * aborts on its own pages: the device's next poll gets the error (RFC 8628 §3.5).
 */
async function denyDeviceCode(provider: InteractionKit['provider'], jti: string, description: string): Promise<void> {
  const code = await provider.DeviceCode.find(jti, { ignoreExpiration: true });
  if (!code || code.accountId || code.error) return;
  Object.assign(code, { error: 'access_denied', errorDescription: description });
  await code.save();
}

function seeOther(ctx: Context, url: string): void {
  ctx.status = 303;
  ctx.redirect(url);
}

async function problemPage(ctx: Context, logger: Logger, client: UpstreamClient, err: UpstreamError, uid?: string): Promise<void> {
  logger.warn({ event: `upstream.${err.problem}`, connector: client.id, issuer: client.config.issuer, error: err.message, upstream_error: err.oauthError }, `connector ${client.id}: ${err.message}`);
  const page = PROBLEM_PAGES[err.problem];
  await renderPage(ctx, 'upstream_problem', {
    title: page.title,
    message: page.text(client.config.label),
    code: err.oauthError ?? err.code,
    retryUrl: uid && err.problem !== 'rejected' ? `/interaction/${uid}` : undefined,
  }, err.status);
}

/** Sends the browser to the upstream with fresh state, nonce and PKCE, remembered in the store. */
export async function startUpstream(ctx: Context, client: UpstreamClient, store: Store, logger: Logger, d: Details): Promise<void> {
  let request;
  try {
    request = await client.authorizationRequest();
  } catch (err) {
    if (err instanceof UpstreamError) return problemPage(ctx, logger, client, err, d.uid);
    throw err;
  }
  await store.upsert(UPSTREAM_STATE, request.state, { uid: d.uid, connector: client.id, nonce: request.nonce, codeVerifier: request.codeVerifier }, UPSTREAM_WINDOW);
  logger.info({ event: 'upstream.redirect', connector: client.id, client_id: d.params.client_id }, `sending the person to ${client.id}`);
  seeOther(ctx, request.url.href);
}

/**
 * "Continue with …": start (POST with CSRF), the fixed callback registered at the upstream, which
 * hands over to the interaction's own path (where the interaction cookie binds it to this
 * browser), and the return step that validates, applies policy and signs the person in.
 */
export function upstreamRoutes(kit: InteractionKit, options: UpstreamRouteOptions): Middleware[] {
  const { store, logger, audit } = options;
  const byId = new Map(options.upstream.map((c) => [c.id, c]));
  const router = new Router();

  async function unknownConnector(ctx: Context) {
    await renderPage(ctx, 'error', { title: 'Unknown sign-in option', error: 'invalid_request', description: 'This sign-in option does not exist on this server.' }, 404);
  }

  async function refusedCallback(ctx: Context, client: UpstreamClient, reason: string) {
    return problemPage(ctx, logger, client, new UpstreamError('rejected', `callback refused: ${reason}`));
  }

  /**
   * This sign-in's own answer, opened again in the browser that started it (a reload of the page it
   * led to, the back button, a second tab): not tampering, so not the "refused" page. A browser flow
   * may carry on to where it stood (the application gets the outcome); a device already has its.
   */
  async function answerReused(ctx: Context, client: UpstreamClient, d: Details) {
    logger.info({ event: 'upstream.answer_reused', connector: client.id }, `connector ${client.id}: a sign-in answer was opened again`);
    const label = client.config.label;
    await renderPage(ctx, 'upstream_problem', {
      title: 'Sign-in answer already used',
      message: d.deviceCode
        ? `This page was opened again (a reload, the back button or a second tab); the answer from ${label} counts once, and your device has been told the outcome. If it is still waiting, close this tab and start again on the device.`
        : `This page was opened again (a reload, the back button or a second tab); the answer from ${label} counts once. Continue to let the application know how the sign-in ended.`,
      code: 'answer_reused',
      retryUrl: d.deviceCode ? undefined : d.returnTo,
      retryLabel: 'Continue',
    }, 409);
  }

  router.post('/interaction/:uid/upstream/:connector', async (ctx) => {
    const client = byId.get(ctx.params.connector ?? '');
    if (!client) return unknownConnector(ctx);
    const s = await kit.submission(ctx);
    if (!s) return;
    if (s.d.prompt.name !== 'login') return seeOther(ctx, `/interaction/${s.d.uid}`);
    await startUpstream(ctx, client, store, logger, s.d);
  });

  router.get('/upstream/:connector/callback', async (ctx) => {
    const client = byId.get(ctx.params.connector ?? '');
    if (!client) return unknownConnector(ctx);
    const state = typeof ctx.query.state === 'string' && ctx.query.state.length <= 512 ? ctx.query.state : '';
    const pending = state ? await store.find(UPSTREAM_STATE, state) : undefined;
    if (!pending || pending.consumed || pending.connector !== client.id || typeof pending.uid !== 'string') {
      return refusedCallback(ctx, client, state ? 'unknown or used state' : 'no state');
    }
    seeOther(ctx, `/interaction/${encodeURIComponent(pending.uid)}/upstream/${client.id}/return?${ctx.querystring}`);
  });

  router.get('/interaction/:uid/upstream/:connector/return', async (ctx) => {
    const client = byId.get(ctx.params.connector ?? '');
    if (!client) return unknownConnector(ctx);
    const d = await kit.details(ctx);
    if (!d) return;
    const state = typeof ctx.query.state === 'string' && ctx.query.state.length <= 512 ? ctx.query.state : '';
    const pending = state ? await store.find(UPSTREAM_STATE, state) : undefined;
    // One use only: a replayed callback finds its state already consumed.
    if (!pending || pending.uid !== d.uid || pending.connector !== client.id) {
      return refusedCallback(ctx, client, 'state does not belong to this sign-in');
    }
    if (!(await store.consume(UPSTREAM_STATE, state))) return answerReused(ctx, client, d);
    if (d.prompt.name !== 'login') return seeOther(ctx, `/interaction/${d.uid}`);
    let signedIn: UpstreamSignIn;
    try {
      signedIn = await client.redeem(new URLSearchParams(ctx.querystring), { state, nonce: String(pending.nonce), codeVerifier: String(pending.codeVerifier) });
    } catch (err) {
      if (err instanceof UpstreamError) return problemPage(ctx, logger, client, err, d.uid);
      throw err;
    }
    const clientId = String(d.params.client_id);
    const result = await federatedSignIn(store, client.config, signedIn.claims);
    if (!result.ok) {
      audit.record('signin.failure', { client_id: clientId, connector: client.id, reason: `upstream_${result.reason}`, ...(result.account ? { sub: result.account.id } : {}) });
      const denial = { error: 'access_denied', error_description: REFUSALS[result.reason] };
      if (d.deviceCode) {
        // The device learns it at its next poll, whatever the person does with this page.
        await denyDeviceCode(kit.provider, d.deviceCode, denial.error_description);
        await kit.page(ctx, d, 'upstream_refused', { title: 'Access refused', message: denial.error_description, label: client.config.label, device: true }, 403);
        return;
      }
      // The authorization ends with access_denied; the person reads why before going back.
      const returnTo = await kit.provider.interactionResult(ctx.req, ctx.res, denial, { mergeWithLastSubmission: false });
      await kit.page(ctx, d, 'upstream_refused', { title: 'Access refused', message: denial.error_description, label: client.config.label, returnTo }, 403);
      return;
    }
    const { account } = result;
    await options.recheck.remember(account, client.id, signedIn.state);
    audit.record('signin.success', { client_id: clientId, sub: account.id, username: account.username, connector: client.id, created: result.created });
    await kit.finish(ctx, { login: { accountId: account.id, amr: ['fed'], acr: ACR.upstream } }, false);
  });

  return [router.routes(), router.allowedMethods()] as unknown as Middleware[];
}
