import Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import { ACR } from '../accounts/claims.ts';
import type { Refusal } from '../accounts/federated.ts';
import { DirectoryUnavailableError } from '../accounts/ldap/directory.ts';
import type { LdapConnector } from '../accounts/ldap/ldap_connector.ts';
import type { SignIn } from '../accounts/sign_in.ts';
import { tooManyRequests } from '../http/too_many.ts';
import type { Audit } from '../shared/audit.ts';
import type { Logger } from '../shared/logger.ts';
import { renderPage } from '../shared/views.ts';
import type { Details, InteractionKit } from './kit.ts';

export interface LdapRouteOptions {
  signIn: SignIn;
  logger: Logger;
  audit: Audit;
  directories: LdapConnector[];
}

/** The form's target for a directory connector. */
export function ldapFormAction(uid: string, connectorId: string): string {
  return `/interaction/${uid}/ldap/${connectorId}`;
}

const REFUSALS: Record<Refusal, string> = {
  domain: 'Your email address is not in a domain allowed to use this service.',
  group: 'Your account is not in a group allowed to use this service.',
  disabled: 'Your account has been disabled on this server. Contact your administrator.',
  claims: 'Your directory entry lacks the details this server needs to identify you.',
};

/** The username/password form, posting to a directory connector. */
export async function showDirectoryForm(kit: InteractionKit, ctx: Context, d: Details, directory: LdapConnector, locals: Record<string, unknown> = {}, status?: number): Promise<void> {
  await kit.page(ctx, d, 'login', {
    title: 'Sign in',
    username: '',
    localAccounts: true,
    connectors: [],
    formAction: ldapFormAction(d.uid, directory.id),
    directoryLabel: directory.config.label,
    ...locals,
  }, status);
}

function seeOther(ctx: Context, url: string): void {
  ctx.status = 303;
  ctx.redirect(url);
}

/**
 * Sign-in against a company directory: the username/password form for one LDAP connector (GET),
 * and its submission (POST with CSRF) under the same failure throttles and the same "Incorrect
 * username or password." as local accounts. A directory that does not answer is said so on the
 * form (503); people outside the connector's policy get the "Access refused" page.
 */
export function ldapRoutes(kit: InteractionKit, options: LdapRouteOptions): Middleware[] {
  const { signIn, logger, audit } = options;
  const byId = new Map(options.directories.map((c) => [c.id, c]));
  const router = new Router({ prefix: '/interaction/:uid/ldap' });

  async function unknownConnector(ctx: Context) {
    await renderPage(ctx, 'error', { title: 'Unknown sign-in option', error: 'invalid_request', description: 'This sign-in option does not exist on this server.' }, 404);
  }

  router.get('/:connector', async (ctx) => {
    const directory = byId.get(ctx.params.connector ?? '');
    if (!directory) return unknownConnector(ctx);
    const d = await kit.details(ctx);
    if (!d) return;
    if (d.prompt.name !== 'login') return seeOther(ctx, `/interaction/${d.uid}`);
    await showDirectoryForm(kit, ctx, d, directory);
  });

  router.post('/:connector', async (ctx) => {
    const directory = byId.get(ctx.params.connector ?? '');
    if (!directory) return unknownConnector(ctx);
    const s = await kit.submission(ctx);
    if (!s) return;
    const { d, form } = s;
    if (d.prompt.name !== 'login') return seeOther(ctx, `/interaction/${d.uid}`);
    const clientId = String(d.params.client_id);
    const username = (form.username ?? '').slice(0, 256);
    const password = form.password ?? '';
    let result;
    try {
      result = await signIn.external(directory.id, username, ctx.ip, () => directory.signIn(username, password), (r) => !r.ok && r.reason === 'credentials');
    } catch (err) {
      if (!(err instanceof DirectoryUnavailableError)) throw err;
      logger.warn({ event: 'ldap.unavailable', connector: directory.id, error: err.message }, `directory ${directory.id} did not answer`);
      audit.record('signin.failure', { client_id: clientId, connector: directory.id, reason: 'directory_unavailable' });
      const message = `${directory.config.label} is not answering right now, so your password could not be checked. Try again in a few minutes${options.directories.length > 1 || kit.otherOptions ? ', or choose another way to sign in' : ''}.`;
      return showDirectoryForm(kit, ctx, d, directory, { username, message, choicesUrl: kit.otherOptions ? `/interaction/${d.uid}` : undefined }, 503);
    }
    if ('throttled' in result) {
      audit.record('signin.failure', { client_id: clientId, connector: directory.id, reason: 'throttled' });
      return tooManyRequests(ctx, result.throttled, 'too many failed sign-ins');
    }
    const outcome = result.outcome;
    if (!outcome.ok && outcome.reason === 'credentials') {
      // Never the typed username: people type passwords into the wrong field.
      audit.record('signin.failure', { client_id: clientId, connector: directory.id, reason: 'bad_credentials' });
      return showDirectoryForm(kit, ctx, d, directory, { username, message: 'Incorrect username or password.' }, 401);
    }
    if (!outcome.ok) {
      if ('missing' in outcome) {
        // Names attributes, never values: the operator's connector maps from something the entry lacks.
        logger.warn({ event: 'ldap.entry_incomplete', connector: directory.id, missing: outcome.missing }, `directory ${directory.id}: a person's entry has no readable ${outcome.missing.join(', ')}; check "attributes" / "usernameAttribute" in the connector and the service account's read access`);
      }
      audit.record('signin.failure', { client_id: clientId, connector: directory.id, reason: `ldap_${outcome.reason}`, ...('account' in outcome && outcome.account ? { sub: outcome.account.id } : {}) });
      const message = REFUSALS[outcome.reason];
      const returnTo = await kit.provider.interactionResult(ctx.req, ctx.res, { error: 'access_denied', error_description: message }, { mergeWithLastSubmission: false });
      await kit.page(ctx, d, 'upstream_refused', { title: 'Access refused', message, label: directory.config.label, returnTo }, 403);
      return;
    }
    const { account } = outcome;
    audit.record('signin.success', { client_id: clientId, sub: account.id, username: account.username, connector: directory.id, created: outcome.created });
    await kit.finish(ctx, { login: { accountId: account.id, amr: ['pwd'], acr: ACR.password } }, false);
  });

  return [router.routes(), router.allowedMethods()] as unknown as Middleware[];
}
