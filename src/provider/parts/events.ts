import type Provider from 'oidc-provider';
import type { KoaContextWithOIDC } from 'oidc-provider';
import type { Logger } from '../../shared/logger.ts';

/**
 * oidc-provider reports errors as events instead of throwing them to us. Client mistakes are
 * logged at debug, server errors at error with the stack; never tokens or request bodies.
 * `error_detail` is oidc-provider's reason the response leaves out (for `invalid_token` always
 * "invalid token provided"); a certificate-bound token presented with another certificate
 * (RFC 8705 §3) is logged at info, as certificate refusals are.
 */
export function logProviderEvents(provider: Provider, logger: Logger): void {
  const clientError = (event: string) => (ctx: KoaContextWithOIDC, err: Error & { error?: string; error_description?: string; error_detail?: string }) => {
    const fields = { event, error: err.error, error_description: err.error_description, error_detail: err.error_detail, client_id: ctx.oidc?.client?.clientId };
    if (err.error_detail?.includes('x5t#S256')) logger.info(fields, 'certificate-bound token refused');
    else logger.debug(fields, 'oauth error');
  };
  for (const event of [
    'authorization.error',
    'backchannel.error',
    'jwks.error',
    'check_session_origin.error',
    'discovery.error',
    'end_session.error',
    'grant.error',
    'introspection.error',
    'pushed_authorization_request.error',
    'registration_create.error',
    'registration_delete.error',
    'registration_read.error',
    'registration_update.error',
    'revocation.error',
    'userinfo.error',
    'code_verification.error',
    'device_authorization.error',
  ] as const) {
    (provider as unknown as NodeJS.EventEmitter).on(event, clientError(event));
  }
  provider.on('server_error', (ctx: KoaContextWithOIDC, err: Error) => {
    logger.error({ event: 'server_error', err: { type: err.name, message: err.message, stack: err.stack }, path: ctx.path }, 'server error');
  });
  for (const event of ['registration_create.success', 'registration_update.success', 'registration_delete.success'] as const) {
    (provider as unknown as NodeJS.EventEmitter).on(event, (_ctx: KoaContextWithOIDC, client: { clientId: string }) => {
      logger.info({ event, client_id: client.clientId }, 'client registration changed');
    });
  }
}
