import type { IncomingMessage, ServerResponse } from 'node:http';
import helmet from 'helmet';
import type { Context, Next } from 'koa';

/**
 * helmet with a strict Content-Security-Policy: scripts and styles only from our origin, no inline
 * code, no framing. `form-action` is left out on purpose: after a form POST the browser follows
 * redirects to client redirect URIs (loopback ports, custom schemes) that no list could name.
 */
export function securityHeaders(options: { https: boolean }) {
  const mw = helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        'default-src': ["'self'"],
        'script-src': ["'self'"],
        'style-src': ["'self'"],
        'img-src': ["'self'", 'data:', 'https:'],
        'font-src': ["'self'"],
        'connect-src': ["'self'"],
        'object-src': ["'none'"],
        'base-uri': ["'none'"],
        'frame-ancestors': ["'none'"],
        ...(options.https ? { 'upgrade-insecure-requests': [] } : {}),
      },
    },
    strictTransportSecurity: options.https ? { maxAge: 31536000, includeSubDomains: true } : false,
    referrerPolicy: { policy: 'no-referrer' },
    crossOriginOpenerPolicy: { policy: 'same-origin' },
    crossOriginResourcePolicy: { policy: 'same-origin' },
    xFrameOptions: { action: 'deny' },
  });
  return async function headers(ctx: Context, next: Next): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      mw(ctx.req as IncomingMessage, ctx.res as ServerResponse, (err?: unknown) => (err ? reject(err) : resolve()));
    });
    await next();
  };
}
