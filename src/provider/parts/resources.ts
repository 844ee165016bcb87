import { errors, type Configuration } from 'oidc-provider';
import type { ProviderContext } from '../context.ts';
import { resourceServerKeyProblems } from '../resource_servers.ts';

/**
 * Resource indicators (RFC 8707): a token requested for a configured API carries that API as its
 * audience and only its scopes, as an RFC 9068 JWT by default so the API can validate it offline
 * against /jwks; an API may ask for opaque tokens (validated by introspection) instead.
 * @see RFC 8707 §2, RFC 9068 §2
 * An API whose signingAlg no active key of this key set signs gets 503 `temporarily_unavailable`
 * (logged as `keys.resource_server_unusable` when the provider is built).
 */
export function resourcesPart({ resourceServers: servers, keys, config, logger }: ProviderContext): Configuration {
  // At start a missing key stops the server (server/gatehouse.ts); a key change while running is
  // applied anyway, and only the APIs it leaves without a key are refused until one is added.
  const unusable = resourceServerKeyProblems(servers, keys.jwks, { resourceServersFile: config.resourceServersFile, jwksPath: keys.jwksPath });
  for (const [indicator, problem] of unusable) logger.error({ event: 'keys.resource_server_unusable', resource: indicator }, problem);
  return {
    features: {
      resourceIndicators: {
        enabled: true,
        defaultResource: async (_ctx, _client, oneOf) => oneOf,
        useGrantedResource: async () => true,
        getResourceServerInfo(_ctx, indicator) {
          const rs = servers.get(indicator);
          if (!rs) throw new errors.InvalidTarget('unknown resource indicator');
          if (unusable.has(indicator)) {
            const err = new errors.TemporarilyUnavailable('tokens for this resource cannot be signed right now (no signing key for its algorithm); try again later');
            throw Object.assign(err, { status: 503, statusCode: 503 });
          }
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
