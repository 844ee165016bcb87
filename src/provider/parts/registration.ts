import { errors, type Configuration } from 'oidc-provider';
import { randomId } from '../../shared/random_id.ts';
import { checkClientMetadata } from '../../clients/client_rules.ts';
import { requestContext } from '../../shared/logger.ts';
import type { ProviderContext } from '../context.ts';

/**
 * Dynamic client registration (RFC 7591) and management (RFC 7592). The initial access token
 * check and the per-IP rate limit run in front of oidc-provider (http/registration_guard.ts);
 * here: the endpoints, rotation of the registration access token on every update, and
 * Gatehouse's metadata rules for every client, however it was created.
 */
export function registrationPart({ config }: ProviderContext): Configuration {
  const enabled = config.registration !== 'closed';
  const options = { allowPrivateUris: config.registrationAllowPrivateUris, clientCertificates: config.mtlsEnabled || config.clientCertHeader !== undefined };
  return {
    features: {
      // Letters and digits only: oidc-provider's default ids may start with '-', which a
      // command line (`gatehouse clients show <id>`) would take for an option.
      registration: { enabled, initialAccessToken: false, issueRegistrationAccessToken: true, idFactory: () => randomId() },
      registrationManagement: { enabled, rotateRegistrationAccessToken: true },
    },
    extraClientMetadata: {
      // RFC 7591 §2 fields oidc-provider does not know; declaring them keeps them and gives
      // the validator a hook that runs once per client.
      properties: ['software_id', 'software_version'],
      validator(ctx, key, _value, metadata) {
        if (key !== 'software_id') return;
        try {
          checkClientMetadata(metadata as unknown as Record<string, unknown>, options);
        } catch (err) {
          // A stored client looked up while answering a request (oidc-provider passes no context
          // then; registration does) that today's settings or rules refuse — stored before
          // GATEHOUSE_MTLS_ENABLED went off, say: the request's client is refused (RFC 6749 §5.2
          // invalid_client), there is no metadata in the request to blame. The clients file and
          // `gatehouse clients` (no request at all) keep invalid_client_metadata.
          // The caller may be anyone who knows the client_id: the reason (which names settings) goes to the log only.
          if (!ctx && requestContext.getStore() && err instanceof errors.InvalidClientMetadata) {
            throw new errors.InvalidClient('this client cannot be used on this server as registered; an operator can see why in the log', `the client's stored metadata is not accepted by this server: ${err.error_description}`);
          }
          throw err;
        }
      },
    },
    // oidc-provider refuses to connect to special-use addresses when it fetches jwks_uri or
    // sector_identifier_uri; an operator may lift that for an internal network.
    ...(options.allowPrivateUris ? { fetch: (url, init) => globalThis.fetch(url, { ...init, dispatcher: undefined } as RequestInit) } : {}),
  };
}
