import { errors, type Configuration } from 'oidc-provider';
import type { ProviderContext } from '../context.ts';
import { checkResourceServerKeys } from '../resource_servers.ts';

/**
 * Resource indicators (RFC 8707): a token requested for a configured API carries that API as its
 * audience and only its scopes, as an RFC 9068 JWT by default so the API can validate it offline
 * against /jwks; an API may ask for opaque tokens (validated by introspection) instead.
 * @see RFC 8707 §2, RFC 9068 §2
 * @throws ConfigError when an API's signingAlg has no active key in this key set
 */
export function resourcesPart({ resourceServers: servers, keys, config }: ProviderContext): Configuration {
  checkResourceServerKeys(servers, keys.jwks, { resourceServersFile: config.resourceServersFile, jwksPath: keys.jwksPath });
  return {
    features: {
      resourceIndicators: {
        enabled: true,
        defaultResource: async (_ctx, _client, oneOf) => oneOf,
        useGrantedResource: async () => true,
        getResourceServerInfo(_ctx, indicator) {
          const rs = servers.get(indicator);
          if (!rs) throw new errors.InvalidTarget('unknown resource indicator');
          return {
            scope: rs.scope,
            audience: rs.audience ?? indicator,
            accessTokenTTL: rs.accessTokenTTL,
            accessTokenFormat: rs.accessTokenFormat,
            ...(rs.accessTokenFormat === 'jwt' ? { jwt: { sign: { alg: rs.signingAlg } } } : {}),
          };
        },
      },
    },
  };
}
