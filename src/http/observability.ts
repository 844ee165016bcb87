import type Provider from 'oidc-provider';
import type { KoaContextWithOIDC } from 'oidc-provider';
import type { Context, Next } from 'koa';
import type { Audit } from '../shared/audit.ts';
import type { Metrics } from './metrics.ts';

type Ctx = KoaContextWithOIDC;

/**
 * Turns oidc-provider's events into audit events and metrics: tokens issued/refreshed, client
 * registrations (features count their own outcomes, e.g. features/device_flow/metrics.ts). Called for every provider instance (key rotation builds
 * new ones).
 */
export function observeProvider(provider: Provider, audit: Audit, metrics: Metrics): void {
  const emitter = provider as unknown as NodeJS.EventEmitter;
  const on = <A extends unknown[]>(event: string, fn: (...args: A) => void) => emitter.on(event, fn as (...args: unknown[]) => void);
  const clientId = (ctx: Ctx) => ctx.oidc?.client?.clientId;

  on('grant.success', (ctx: Ctx) => {
    const grantType = String(ctx.oidc.params?.grant_type ?? 'unknown');
    const client = clientId(ctx);
    const sub = ctx.oidc.entities?.Account?.accountId;
    metrics.tokenIssued(grantType, client ?? 'unknown');
    audit.record(grantType === 'refresh_token' ? 'token.refreshed' : 'token.issued', { grant_type: grantType, client_id: client, sub });
  });
  on('grant.revoked', (ctx: Ctx, grantId: string) => {
    audit.record('token.revoked', { client_id: clientId(ctx), grant: grantId, reason: 'grant revoked' });
  });
  on('registration_create.success', (ctx: Ctx, client: { clientId: string }) => audit.record('client.registered', { client_id: client.clientId, via: ctx.state?.listener ?? 'public' }));
  on('registration_update.success', (_ctx: Ctx, client: { clientId: string }) => audit.record('client.updated', { client_id: client.clientId }));
  on('registration_delete.success', (_ctx: Ctx, client: { clientId: string }) => audit.record('client.deleted', { client_id: client.clientId }));
}

/**
 * RFC 7009 answers 200 whether or not the token existed; audit each accepted revocation request.
 * `path` is the revocation endpoint's canonical path (route_paths.ts folds every spelling to it):
 * other requests go straight on.
 */
export function auditRevocations(audit: Audit, path = '/token/revocation') {
  return (ctx: Context, next: Next): Promise<void> => (ctx.method === 'POST' && ctx.path === path ? auditRevocation(ctx, next) : next());
  async function auditRevocation(ctx: Context, next: Next): Promise<void> {
    await next();
    const oidc = (ctx as Context & { oidc?: { route?: string; client?: { clientId: string }; params?: Record<string, unknown> } }).oidc;
    if (oidc?.route === 'revocation' && ctx.status === 200) {
      audit.record('token.revoked', { client_id: oidc.client?.clientId, token_type_hint: typeof oidc.params?.token_type_hint === 'string' ? oidc.params.token_type_hint : undefined });
    }
  }
}

/** Audit events that are also counted. */
export function countAuditEvents(audit: Audit, metrics: Metrics): void {
  audit.on('event', (event, fields) => {
    if (event === 'signin.failure' || event === 'mfa.failure') metrics.signInFailures.inc({ reason: fields.reason ?? event });
  });
}
