import type { Context, Next } from 'koa';

/**
 * The configured accent colour as a stylesheet, so pages stay free of inline styles (strict CSP).
 * The value was validated as `#rrggbb` by the configuration schema.
 */
export function brandingStylesheet(accentColour: string) {
  const css = `:root { --accent: ${accentColour}; }\n`;
  return function branding(ctx: Context, next: Next): Promise<void> {
    if (ctx.path !== '/branding.css' || (ctx.method !== 'GET' && ctx.method !== 'HEAD')) return next();
    ctx.type = 'text/css';
    ctx.set('Cache-Control', 'public, max-age=300');
    ctx.body = css;
    return Promise.resolve();
  };
}
