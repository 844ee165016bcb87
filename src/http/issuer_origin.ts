import type Koa from 'koa';

const ABSOLUTE_FORM = /^[a-z][a-z0-9+.-]*:\/\//i;

/**
 * Pins the URL every request is seen at to the issuer's origin. oidc-provider builds endpoint URLs
 * from `ctx.href`, which koa derives from the `Host` header and the socket's protocol (and an
 * absolute-form request target, RFC 9112 §3.2.2), so without this a request to the mTLS listener,
 * or one with a forged Host, would change the URLs in discovery and elsewhere.
 *
 * Done once on the app's request prototype (every `ctx.request` of this app inherits from it), not
 * per request: defining the two properties on each request object cost ~5 µs of a token request
 * (profiler on, bench/README.md).
 * `href` is the issuer origin followed by the path and query the client sent.
 */
export function pinIssuerOrigin(app: Pick<Koa, 'request'>, issuer: string): void {
  const origin = new URL(issuer).origin;
  Object.defineProperty(app.request, 'origin', { get: () => origin, configurable: true });
  Object.defineProperty(app.request, 'href', {
    get(this: Koa.Request): string {
      const target = this.originalUrl;
      if (!ABSOLUTE_FORM.test(target)) return `${origin}${target}`;
      try {
        const u = new URL(target);
        return `${origin}${u.pathname}${u.search}`;
      } catch {
        return `${origin}/`;
      }
    },
    configurable: true,
  });
}
