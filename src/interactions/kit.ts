import type { Context } from 'koa';
import type Provider from 'oidc-provider';

/** What oidc-provider knows about one interaction (`provider.interactionDetails`). */
export type Details = Awaited<ReturnType<Provider['interactionDetails']>>;

/**
 * The pieces of the interaction routes (routes.ts) that the upstream SSO and LDAP sign-in routes
 * reuse. Its own module so those routes depend on this shape, not on routes.ts, which mounts them.
 */
export interface InteractionKit {
  provider: Provider;
  details(ctx: Context): Promise<Details | undefined>;
  submission(ctx: Context): Promise<{ d: Details; form: Record<string, string> } | undefined>;
  page(ctx: Context, d: Details, view: string, locals: Record<string, unknown>, status?: number): Promise<void>;
  finish(ctx: Context, result: Parameters<Provider['interactionFinished']>[2], merge: boolean): Promise<void>;
  /** Whether the sign-in page offers more than one way in (so a failing one can point to the others). */
  otherOptions: boolean;
}
