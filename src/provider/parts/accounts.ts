import type { Configuration, KoaContextWithOIDC } from 'oidc-provider';
import { errors } from 'oidc-provider';
import { Accounts } from '../../accounts/account.ts';
import { ACR, accountClaims, SCOPE_CLAIMS } from '../../accounts/claims.ts';
import { rememberedConsent } from '../../accounts/consent.ts';
import type { ProviderContext } from '../context.ts';

/**
 * Local accounts as oidc-provider sees them: `findAccount` by the opaque `sub`, the claims each
 * scope releases (into the ID token as well, since CLIs read them there), and consent remembered
 * per account and client across browser sessions.
 */
export function accountsPart({ store, config, recheck, logger }: ProviderContext): Configuration {
  const accounts = new Accounts(store);
  return {
    async findAccount(ctx, sub, token) {
      let account = await accounts.findById(sub);
      // A disabled account keeps its records but can neither sign in nor refresh tokens.
      if (!account || account.disabled) return undefined;
      // A refresh asks the account's source again (README: Company directory, re-check on refresh).
      if (recheck && !recheck.empty && token?.kind === 'RefreshToken' && ctx?.oidc?.route === 'token') {
        const verdict = await recheck.onRefresh(account);
        if (verdict === 'unreachable') {
          logger.warn({ event: 'account.recheck_unreachable', sub, connector: account.upstream?.connector }, 'account source not answering; refresh refused for now');
          const err = new errors.TemporarilyUnavailable('the account directory is not answering, try again later');
          throw Object.assign(err, { status: 503, statusCode: 503 });
        }
        if (verdict === 'refused') {
          logger.info({ event: 'account.recheck_refused', sub, connector: account.upstream?.connector }, 'account source refused the account; its grant is revoked');
          const grantId = (token as { grantId?: string }).grantId;
          if (grantId) {
            await store.revokeByGrantId(grantId);
            await (await ctx.oidc.provider.Grant.find(grantId))?.destroy();
          }
          return undefined;
        }
        account = (await accounts.findById(sub)) ?? account;
      }
      const current = account;
      return { accountId: sub, claims: async () => ({ ...accountClaims(current), sub }) };
    },
    // How and when the person authenticated rides on `openid`, so every ID token says it (CLIs and
    // relying parties check for MFA without having to ask for these claims one by one).
    claims: { sid: null, ...SCOPE_CLAIMS, openid: ['sub', 'acr', 'amr', 'auth_time'] },
    acrValues: [ACR.password, ACR.mfa, ACR.upstream],
    scopes: ['openid', 'offline_access', 'profile', 'email', 'groups', 'posix'],
    conformIdTokenClaims: false,
    ttl: {
      // Every grant's access token lives GATEHOUSE_ACCESS_TOKEN_TTL, or its API's own accessTokenTTL.
      AccessToken: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? config.accessTokenTtl,
      ClientCredentials: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? config.accessTokenTtl,
      IdToken: config.idTokenTtl,
      DeviceCode: config.deviceCodeTtl,
      Session: config.sessionTtl,
      Grant: Math.max(config.consentTtl, config.refreshTokenTtl),
      Interaction: 3600,
      RefreshToken(ctx: KoaContextWithOIDC) {
        // A rotated refresh token keeps the remaining life of the one it replaced.
        const rotated = ctx?.oidc?.entities.RotatedRefreshToken;
        return rotated ? rotated.remainingTTL : config.refreshTokenTtl;
      },
    },
    async loadExistingGrant(ctx) {
      const clientId = ctx.oidc.client!.clientId;
      const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session!.grantIdFor(clientId);
      if (grantId) return ctx.oidc.provider.Grant.find(grantId);
      const accountId = ctx.oidc.session!.accountId;
      if (!accountId) return undefined;
      // A fresh grant per authorization, carrying what the person agreed to before, so revoking
      // one device's tokens leaves the others alone.
      const remembered = await rememberedConsent(store, accountId, clientId);
      if (!remembered) return undefined;
      const grant = new ctx.oidc.provider.Grant({ accountId, clientId });
      grant.addOIDCScope(remembered.scope);
      await grant.save();
      return grant;
    },
  };
}
