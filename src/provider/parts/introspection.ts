import { errors, type Configuration, type KoaContextWithOIDC } from 'oidc-provider';

/** Client metadata an operator sets on an API's client so it may introspect tokens issued to others. */
export const INTROSPECTOR_PROPERTY = 'introspect_any_token';

const SELF_SERVICE_ROUTES = new Set(['registration', 'client_update']);

/**
 * Who may introspect what (RFC 7662 §4): a client may always introspect tokens issued to itself;
 * only clients an operator marked with `introspect_any_token` (the APIs that validate other
 * clients' tokens) may introspect anyone's. oidc-provider's default lets any confidential client
 * read every token's subject and scopes. Self-registered clients cannot grant themselves the mark.
 * @see RFC 7662 §4
 */
export function introspectionPart(): Configuration {
  return {
    extraClientMetadata: {
      properties: [INTROSPECTOR_PROPERTY],
      validator(ctx, key, value) {
        if (key !== INTROSPECTOR_PROPERTY || value === undefined) return;
        if (SELF_SERVICE_ROUTES.has((ctx as KoaContextWithOIDC | undefined)?.oidc?.route ?? '')) {
          throw new errors.InvalidClientMetadata(`${INTROSPECTOR_PROPERTY} is set by operators only`);
        }
        if (typeof value !== 'boolean') throw new errors.InvalidClientMetadata(`${INTROSPECTOR_PROPERTY} must be a boolean`);
      },
    },
    features: {
      introspection: {
        enabled: true,
        async allowedPolicy(_ctx, client, token) {
          if (token.clientId === client.clientId) return true;
          return (client as unknown as Record<string, unknown>)[INTROSPECTOR_PROPERTY] === true;
        },
      },
    },
  };
}
