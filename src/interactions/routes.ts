import Router from '@koa/router';
import type { Context, Middleware, Next } from 'koa';
import compose from 'koa-compose';
import type Provider from 'oidc-provider';
import { errors } from 'oidc-provider';
import { rememberConsent } from '../accounts/consent.ts';
import { ACR, describeScopes } from '../accounts/claims.ts';
import { tooManyRequests } from '../http/too_many.ts';
import type { Audit } from '../shared/audit.ts';
import type { Logger } from '../shared/logger.ts';
import { renderPage } from '../shared/views.ts';
import type { Store } from '../storage/adapter.ts';
import { checkCsrf, csrfToken } from './csrf.ts';
import { readForm } from './form_body.ts';
import type { SignInSources } from './sign_in_sources.ts';
import type { Details, InteractionKit } from './kit.ts';
import { startUpstream, upstreamRoutes } from './upstream_routes.ts';
import { ldapFormAction, ldapRoutes, showDirectoryForm } from './ldap_routes.ts';

/** What the interaction routes serve with: one provider instance, shared services and the ways in. */
export interface InteractionOptions extends SignInSources {
  provider: Provider;
  store: Store;
  logger: Logger;
  audit: Audit;
}

/** Accounts that passed the password step and owe a TOTP code, per interaction. */
const PENDING_MFA = 'PendingMfa';
const MFA_WINDOW = 300;
const INTERACTION_TTL = 3600;

/** After a POST the browser must GET the next page (RFC 9110 §15.4.4). */
function seeOther(ctx: Context, url: string): void {
  ctx.status = 303;
  ctx.redirect(url);
}


/**
 * The browser steps of any authorization (device flow, authorization code, upstream SSO): sign in
 * (password, then TOTP when enrolled), consent, abort. Each step ends with
 * `provider.interactionFinished`, which sends the browser back to oidc-provider (303).
 */
export function interactionRoutes(options: InteractionOptions) {
  const { provider, store, signIn, logger, audit } = options;
  const router = new Router({ prefix: '/interaction/:uid' });

  async function details(ctx: Context): Promise<Details | undefined> {
    let d: Details | undefined;
    try {
      d = await provider.interactionDetails(ctx.req, ctx.res);
    } catch (err) {
      // Store trouble is not the person's fault: let the error boundary answer 503.
      if (!(err instanceof errors.SessionNotFound)) throw err;
      logger.debug({ event: 'interaction.not_found', error: err.message }, 'interaction not found');
    }
    if (d && d.uid === ctx.params.uid) return d;
    await renderPage(ctx, 'error', {
      title: 'Sign-in expired',
      error: 'interaction_expired',
      description: 'This sign-in page has expired or was opened in another browser. Go back to the application or device and start again.',
    }, 400);
    return undefined;
  }

  const clientIdOf = (d: Details) => String(d.params.client_id);

  async function clientName(d: Details): Promise<string> {
    const client = await provider.Client.find(String(d.params.client_id));
    return client ? String(client.clientName ?? client.clientId) : String(d.params.client_id);
  }

  async function page(ctx: Context, d: Details, view: string, locals: Record<string, unknown>, status?: number) {
    await renderPage(ctx, view, {
      uid: d.uid,
      csrf: await csrfToken(store, d.uid, INTERACTION_TTL),
      clientName: await clientName(d),
      ...locals,
    }, status);
  }

  const { directories } = options;
  const buttons: Array<{ id: string; label: string; href?: (uid: string) => string }> = [
    ...options.upstream.map((c) => ({ id: c.id, label: c.config.label })),
    ...directories.map((c) => ({ id: c.id, label: c.config.label, href: (uid: string) => ldapFormAction(uid, c.id) })),
  ];
  const ways = options.upstream.length + directories.length + (options.localAccounts ? 1 : 0);

  async function showLogin(ctx: Context, d: Details, locals: Record<string, unknown> = {}, status?: number) {
    const pending = await store.find(PENDING_MFA, d.uid);
    if (pending) return page(ctx, d, 'totp', { title: 'Two-factor code', ...locals }, status);
    // Nothing to choose: with one connector and no password form, go straight to it.
    if (ways === 1 && options.upstream[0]) return startUpstream(ctx, options.upstream[0], store, logger, d);
    if (ways === 1 && directories[0]) return showDirectoryForm(kit, ctx, d, directories[0], locals, status);
    return page(ctx, d, 'login', { title: 'Sign in', username: '', localAccounts: options.localAccounts, connectors: buttons.map((b) => ({ ...b, href: b.href?.(d.uid) })), ...locals }, status);
  }

  async function showConsent(ctx: Context, d: Details) {
    const prompt = d.prompt.details as { missingOIDCScope?: string[] };
    const missing = prompt.missingOIDCScope ?? [];
    // oidc-provider asks every time for a native client (RFC 8252 §8.6: any program on the
    // machine can listen on a loopback port or claim a URI scheme), even when everything was
    // granted before; the page then lists what is asked for and does not promise silence.
    const everyTime = d.prompt.reasons.includes('native_client_prompt');
    const scopes = describeScopes(missing.length ? missing.join(' ') : String(d.params.scope ?? ''));
    await page(ctx, d, 'consent', { title: 'Allow access', scopes, everyTime });
  }

  /** A POST from our own form: the interaction is live and the CSRF token matches. */
  async function submission(ctx: Context): Promise<{ d: Details; form: Record<string, string> } | undefined> {
    const form = await readForm(ctx);
    const d = await details(ctx);
    if (!d) return undefined;
    if (!(await checkCsrf(store, d.uid, form.csrf))) {
      await renderPage(ctx, 'error', { title: 'Form expired', error: 'invalid_request', description: 'This form has expired. Go back and try again.' }, 403);
      return undefined;
    }
    return { d, form };
  }

  async function finish(ctx: Context, result: Parameters<Provider['interactionFinished']>[2], merge: boolean) {
    await store.destroy(PENDING_MFA, String(ctx.params.uid));
    await provider.interactionFinished(ctx.req, ctx.res, result, { mergeWithLastSubmission: merge });
    ctx.respond = false;
  }

  const kit: InteractionKit = { provider, details, submission, page, finish, otherOptions: ways > 1 };

  router.get('/', async (ctx) => {
    const d = await details(ctx);
    if (!d) return;
    if (d.prompt.name === 'login') return showLogin(ctx, d);
    if (d.prompt.name === 'consent') return showConsent(ctx, d);
    await renderPage(ctx, 'error', { title: 'Cannot continue', error: 'unsupported_prompt', description: 'This request asks for a step this server does not offer.' }, 400);
  });

  router.post('/login', async (ctx) => {
    if (!options.localAccounts) {
      await renderPage(ctx, 'error', { title: 'Password sign-in is off', error: 'invalid_request', description: 'This server signs people in through their organisation only. Go back and choose how to sign in.' }, 404);
      return;
    }
    const s = await submission(ctx);
    if (!s) return;
    const { d, form } = s;
    if (d.prompt.name !== 'login') return seeOther(ctx, `/interaction/${d.uid}`);
    const username = (form.username ?? '').slice(0, 256);
    const result = await signIn.password(username, form.password ?? '', ctx.ip);
    if (!result.ok && result.retryAfter) {
      audit.record('signin.failure', { client_id: clientIdOf(d), reason: 'throttled' });
      return tooManyRequests(ctx, result.retryAfter, 'too many failed sign-ins');
    }
    if (!result.ok) {
      // Never the typed username: people type passwords into the wrong field.
      audit.record('signin.failure', { client_id: clientIdOf(d), reason: 'bad_credentials' });
      return showLogin(ctx, d, { username, message: 'Incorrect username or password.' }, 401);
    }
    const { account } = result;
    if (account.totpSecret) {
      await store.upsert(PENDING_MFA, d.uid, { accountId: account.id }, MFA_WINDOW);
      return seeOther(ctx, `/interaction/${d.uid}`);
    }
    audit.record('signin.success', { client_id: clientIdOf(d), sub: account.id, username: account.username });
    await finish(ctx, { login: { accountId: account.id, amr: ['pwd'], acr: ACR.password } }, false);
  });

  router.post('/totp', async (ctx) => {
    const s = await submission(ctx);
    if (!s) return;
    const { d, form } = s;
    const pending = await store.find(PENDING_MFA, d.uid);
    if (d.prompt.name !== 'login' || !pending || typeof pending.accountId !== 'string') return seeOther(ctx, `/interaction/${d.uid}`);
    const result = await signIn.totp(pending.accountId, form.code ?? '', ctx.ip);
    if (!result.ok && result.retryAfter) {
      audit.record('mfa.failure', { client_id: clientIdOf(d), sub: pending.accountId, reason: 'throttled' });
      return tooManyRequests(ctx, result.retryAfter, 'too many failed sign-ins');
    }
    if (!result.ok) {
      audit.record('mfa.failure', { client_id: clientIdOf(d), sub: pending.accountId, reason: 'bad_code' });
      return showLogin(ctx, d, { message: 'That code is not valid. Enter the current code from your authenticator app.' }, 401);
    }
    audit.record('mfa.success', { client_id: clientIdOf(d), sub: result.account.id, username: result.account.username });
    await finish(ctx, { login: { accountId: result.account.id, amr: ['pwd', 'otp'], acr: ACR.mfa } }, false);
  });

  router.post('/consent', async (ctx) => {
    const s = await submission(ctx);
    if (!s) return;
    const { d } = s;
    if (d.prompt.name !== 'consent' || !d.session?.accountId) return seeOther(ctx, `/interaction/${d.uid}`);
    const accountId = d.session.accountId;
    const clientId = String(d.params.client_id);
    const grant = d.grantId ? await provider.Grant.find(d.grantId) : new provider.Grant({ accountId, clientId });
    if (!grant) return seeOther(ctx, `/interaction/${d.uid}`);
    const prompt = d.prompt.details as { missingOIDCScope?: string[]; missingOIDCClaims?: string[]; missingResourceScopes?: Record<string, string[]> };
    if (prompt.missingOIDCScope?.length) grant.addOIDCScope(prompt.missingOIDCScope.join(' '));
    if (prompt.missingOIDCClaims?.length) grant.addOIDCClaims(prompt.missingOIDCClaims);
    for (const [indicator, scopes] of Object.entries(prompt.missingResourceScopes ?? {})) grant.addResourceScope(indicator, scopes.join(' '));
    const grantId = await grant.save();
    await rememberConsent(store, accountId, clientId, prompt.missingOIDCScope ?? [], options.consentTtl);
    audit.record('consent.granted', { client_id: clientId, sub: accountId, scope: prompt.missingOIDCScope ?? [] });
    await finish(ctx, { consent: { grantId } }, true);
  });

  router.post('/abort', async (ctx) => {
    const s = await submission(ctx);
    if (!s) return;
    logger.info({ event: 'interaction.aborted', client_id: s.d.params.client_id }, 'person declined');
    await finish(ctx, { error: 'access_denied', error_description: 'End-User aborted interaction' }, false);
  });

  const all = [router.routes(), router.allowedMethods(), ...upstreamRoutes(kit, { store, logger, audit, upstream: options.upstream, recheck: options.recheck }), ...ldapRoutes(kit, { signIn, logger, audit, directories })] as unknown as Middleware[];
  return [underPrefixes(ROUTER_PREFIXES, compose(all))];
}

/** Every path the routers above serve starts with one of these (the upstream callback with the second). */
const ROUTER_PREFIXES = ['/interaction/', '/upstream/'];

/**
 * Runs `mw` only for paths under one of `prefixes` (ASCII case folded, as @koa/router matches
 * case-insensitively); every other request goes straight on. The routers would match each of
 * their routes' patterns against every request (discovery, token, JWKS…) only to find nothing.
 */
function underPrefixes(prefixes: string[], mw: Middleware): Middleware {
  return function routedOnly(ctx: Context, next: Next) {
    const path = ctx.path;
    for (const prefix of prefixes) {
      if (path.length >= prefix.length && path.slice(0, prefix.length).toLowerCase() === prefix) return mw(ctx, next);
    }
    return next();
  };
}
