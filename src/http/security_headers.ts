import type { IncomingMessage, ServerResponse } from 'node:http';
import helmet from 'helmet';
import type { Context, Next } from 'koa';
import { isJson } from './content_type.ts';

/**
 * The headers a JSON answer (token, introspection, revocation, JWKS, discovery, registration,
 * userinfo, health) needs: nothing in it may run, be framed or be sniffed as something else,
 * and it is never sent on as a referrer (the OWASP REST Security Cheat Sheet's set). The
 * document-only headers of the full set (script and style sources, COOP, Origin-Agent-Cluster)
 * and the ones for retired browsers and plug-ins (X-XSS-Protection, X-Download-Options,
 * X-DNS-Prefetch-Control, X-Permitted-Cross-Domain-Policies) do nothing for JSON and cost
 * about a third of what the token endpoint's own middleware adds to a request.
 */
function apiHeaders(https: boolean): Array<[string, string]> {
  return [
    ['Content-Security-Policy', "default-src 'none'; frame-ancestors 'none'"],
    ['X-Content-Type-Options', 'nosniff'],
    ['X-Frame-Options', 'DENY'],
    ['Referrer-Policy', 'no-referrer'],
    ['Cross-Origin-Resource-Policy', 'same-origin'],
    ...(https ? [['Strict-Transport-Security', 'max-age=31536000; includeSubDomains'] as [string, string]] : []),
  ];
}

/**
 * helmet with a strict Content-Security-Policy for pages: scripts and styles only from our
 * origin, no inline code, no framing. `form-action` is left out on purpose: after a form POST the
 * browser follows redirects to client redirect URIs (loopback ports, custom schemes) that no list
 * could name. A JSON answer gets the shorter `apiHeaders` set instead; anything else (pages,
 * redirects, static files, errors not yet rendered) the full set. The API set goes on every answer
 * before it is built (so one written straight to the socket has it), and a non-JSON answer gets
 * the full set once it is known, before it is sent.
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
  // The headers depend only on the options: compute them once, set the list on every response.
  const set: Array<[string, string]> = [];
  const removed: string[] = [];
  const recorder = {
    setHeader: (name: string, value: string) => void set.push([name, String(value)]),
    removeHeader: (name: string) => void removed.push(name),
  };
  let done = false;
  mw({} as IncomingMessage, recorder as unknown as ServerResponse, (err?: unknown) => {
    if (err) throw err;
    done = true;
  });
  // helmet sets static headers synchronously; a version that did not would leave the list incomplete.
  if (!done) throw new Error('helmet did not set its headers synchronously');
  const api = apiHeaders(options.https);
  /** Pages and everything else not JSON: the full set, over the API set, unless already sent. */
  const upgrade = (ctx: Context) => {
    const res = ctx.res;
    if (res.headersSent || isJson(res.getHeader('content-type'))) return;
    for (const [name, value] of set) res.setHeader(name, value);
    for (const name of removed) res.removeHeader(name);
  };
  return async function headers(ctx: Context, next: Next): Promise<void> {
    // The API set first: an answer written straight to the socket before next() returns (the
    // 303 of a finished sign-in, `ctx.respond = false`) goes out with it.
    const res = ctx.res;
    for (const [name, value] of api) res.setHeader(name, value);
    try {
      await next();
    } finally {
      upgrade(ctx);
    }
  };
}
