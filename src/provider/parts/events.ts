import type Provider from 'oidc-provider';
import type { KoaContextWithOIDC } from 'oidc-provider';
import type { Logger } from '../../shared/logger.ts';

/**
 * oidc-provider reports errors as events instead of throwing them to us. Client mistakes are
 * logged at debug, server errors at error with the stack; never tokens or request bodies.
 */
export function logProviderEvents(provider: Provider, logger: Logger): void {
  const clientError = (event: string) => (ctx: KoaContextWithOIDC, err: Error & { error?: string; error_description?: string }) => {
    logger.debug({ event, error: err.error, error_description: err.error_description, client_id: ctx.oidc?.client?.clientId }, 'oauth error');
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
