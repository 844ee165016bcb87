import { type Configuration, errors, interactionPolicy, type KoaContextWithOIDC } from 'oidc-provider';
import type { RecheckVerdict } from '../../accounts/source_recheck.ts';
import { Accounts } from '../../accounts/account.ts';
import { ACR, accountClaims, SCOPE_CLAIMS } from '../../accounts/claims.ts';
import { rememberedConsent } from '../../accounts/consent.ts';
import type { Store } from '../../storage/adapter.ts';
import type { ProviderContext } from '../context.ts';
import { authenticationOf, tokenAuthentication } from './token_authentication.ts';

/**
 * oidc-provider's prompts, with one more reason to ask for a sign-in: the browser's session names
 * an account that is now disabled or gone (the person was offboarded while signed in). Without it
 * oidc-provider would go on to the consent checks with no account and fail with a 500. The device
 * flow feature builds its policy on this one (src/features/device_flow/consent.ts).
 */
export function promptPolicy(): interactionPolicy.DefaultPolicy {
  const policy = interactionPolicy.base();
  policy.get('login')!.checks.add(
    new interactionPolicy.Check('account_unavailable', 'the signed-in account is disabled or no longer exists', (ctx) =>
      Boolean(ctx.oidc.session?.accountId) && !ctx.oidc.account ? interactionPolicy.Check.REQUEST_PROMPT : interactionPolicy.Check.NO_NEED_TO_PROMPT,
    ),
  );
  return policy;
}

/**
 * Local accounts as oidc-provider sees them: `findAccount` by the opaque `sub`, the claims each
 * scope releases (into the ID token as well, since CLIs read them there), and consent remembered
 * per account and client across browser sessions.
 */
export function accountsPart({ store, recheck, logger }: ProviderContext): Configuration {
  const accounts = new Accounts(store);
  // One re-check per token request, however often oidc-provider looks the account up in it.
  const checked = new WeakMap<object, RecheckVerdict>();
  return {
    async findAccount(ctx, sub, token) {
      let account = await accounts.findById(sub);
      // A disabled account keeps its records but can neither sign in nor refresh tokens; so does
      // one its source refused at a re-check, until the person signs in through it again.
      if (!account || account.disabled) return undefined;
      const refreshing = token?.kind === 'RefreshToken' && ctx?.oidc?.route === 'token';
      const grantId = (token as { grantId?: string } | undefined)?.grantId;
      const revokeGrant = async () => {
        if (!grantId) return;
        await store.revokeByGrantId(grantId);
        await (await ctx.oidc.provider.Grant.find(grantId))?.destroy();
      };
      if (account.refusedBySource) {
        if (refreshing) await revokeGrant();
        return undefined;
      }
      // A refresh asks the account's source again (README: Company SSO / Company directory, offboarding).
      if (recheck && !recheck.empty && refreshing && account.upstream) {
        let verdict = checked.get(ctx);
        if (!verdict) {
          verdict = await recheck.onRefresh(account);
          checked.set(ctx, verdict);
        }
        if (verdict === 'unreachable') {
          const err = new errors.TemporarilyUnavailable('the sign-in service or directory of this account is not answering, try again later');
          throw Object.assign(err, { status: 503, statusCode: 503 });
        }
        if (verdict === 'refused') {
          logger.info({ event: 'account.recheck_refused', sub, connector: account.upstream.connector }, 'account source refused the account; its grant is revoked');
          await revokeGrant();
          return undefined;
        }
        account = (await accounts.findById(sub)) ?? account;
      }
      const current = account;
      return {
        accountId: sub,
        username: current.upstream?.username ?? current.username,
        // Userinfo has no session to read how the person signed in; the access token carries it.
        claims: async (use: string) => ({ ...accountClaims(current), sub, ...(use === 'userinfo' ? authenticationOf(token) : {}) }),
      };
    },
    extraTokenClaims: tokenAuthentication,
    // How and when the person authenticated rides on `openid`, so every ID token says it (CLIs and
    // relying parties check for MFA without having to ask for these claims one by one).
    claims: { sid: null, ...SCOPE_CLAIMS, openid: ['sub', 'acr', 'amr', 'auth_time'] },
    acrValues: [ACR.password, ACR.mfa, ACR.upstream],
    scopes: ['openid', 'offline_access', 'profile', 'email', 'groups', 'posix'],
    conformIdTokenClaims: false,
    interactions: { policy: promptPolicy() },
    loadExistingGrant: loadRememberedGrant(store),
  };
}

/**
 * oidc-provider's `loadExistingGrant` for every flow: the grant of this consent or session, or a
 * fresh grant per authorization carrying what the person agreed to before (so revoking one
 * device's tokens leaves the others alone). The device flow feature puts its own in front of it
 * (src/features/device_flow/consent.ts) and falls back to this one.
 */
export function loadRememberedGrant(store: Store) {
  return async function loadExistingGrant(ctx: KoaContextWithOIDC) {
    const clientId = ctx.oidc.client!.clientId;
    const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session!.grantIdFor(clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    const accountId = ctx.oidc.session!.accountId;
    if (!accountId) return undefined;
    const remembered = await rememberedConsent(store, accountId, clientId);
    if (!remembered) return undefined;
    const grant = new ctx.oidc.provider.Grant({ accountId, clientId });
    grant.addOIDCScope(remembered.scope);
    await grant.save();
    return grant;  };
}
