import type { Configuration, KoaContextWithOIDC } from 'oidc-provider';
import type { ProviderContext } from '../context.ts';

/**
 * Every lifetime oidc-provider enforces, in seconds, in one place. The settings behind them are
 * GATEHOUSE_*_TTL (src/config/settings/flows.ts) and a resource server's own accessTokenTTL
 * (GATEHOUSE_RESOURCE_SERVERS_FILE); the interaction lifetime is fixed.
 */
export function ttlPart({ config }: ProviderContext): Configuration {
  return {
    ttl: {
      // Every grant's access token lives GATEHOUSE_ACCESS_TOKEN_TTL, or its API's own accessTokenTTL.
      AccessToken: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? config.accessTokenTtl,
      ClientCredentials: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? config.accessTokenTtl,
      IdToken: config.idTokenTtl,
      DeviceCode: config.deviceCodeTtl,
      Session: config.sessionTtl,
      // A grant carries remembered consent and backs refresh tokens, so it lives as long as the longer of the two.
      Grant: Math.max(config.consentTtl, config.refreshTokenTtl),
      Interaction: 3600,
      RefreshToken(ctx: KoaContextWithOIDC) {
        // A rotated refresh token keeps the remaining life of the one it replaced.
        const rotated = ctx?.oidc?.entities.RotatedRefreshToken;
        return rotated ? rotated.remainingTTL : config.refreshTokenTtl;
      },
    },
  };
}
