import type { Context, Next } from 'koa';

/**
 * Pins the URL every request is seen at to the issuer's origin. oidc-provider builds endpoint URLs
 * from `ctx.href`, which koa derives from the `Host` header and the socket's protocol (and an
 * absolute-form request target), so without this a request to the mTLS listener, or one with a
 * forged Host, would change the URLs in discovery and elsewhere.
 */
export function issuerOrigin(issuer: string) {
  const origin = new URL(issuer).origin;
  return function pinOrigin(ctx: Context, next: Next): Promise<void> {
    const target = ctx.originalUrl;
    let path = target;
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(target)) {
      try {
        const u = new URL(target);
        path = `${u.pathname}${u.search}`;
      } catch {
        path = '/';
      }
    }
    Object.defineProperty(ctx.request, 'origin', { value: origin, configurable: true });
    Object.defineProperty(ctx.request, 'href', { value: `${origin}${path}`, configurable: true });
    return next();
  };
}
