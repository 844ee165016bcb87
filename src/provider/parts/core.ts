import type { Configuration } from 'oidc-provider';
import type { ProviderContext } from '../context.ts';

/**
 * Endpoints and behaviour every deployment has: introspection (RFC 7662), revocation (RFC 7009),
 * client credentials, and no development interactions.
 */
export function corePart({ config }: ProviderContext): Configuration {
  const https = new URL(config.issuer).protocol === 'https:';
  return {
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: { enabled: true },
      revocation: { enabled: true },
    },
    cookies: {
      // __Host- binds the session cookie to this exact origin (no Domain, Path=/, Secure);
      // the interaction cookies are path-scoped, so they can only carry __Secure-.
      names: https
        ? { session: '__Host-gh_session', interaction: '__Secure-gh_interaction', resume: '__Secure-gh_resume' }
        : { session: 'gh_session', interaction: 'gh_interaction', resume: 'gh_resume' },
      long: { httpOnly: true, sameSite: 'lax', signed: true },
      short: { httpOnly: true, sameSite: 'lax', signed: true },
    },
    clientDefaults: {
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: 'RS256',
    },
    interactions: {
      url: (_ctx, interaction) => `/interaction/${interaction.uid}`,
    },
    responseTypes: ['code'],
  };
}
