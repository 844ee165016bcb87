import { readFileSync, readdirSync } from 'node:fs';
import { extname, join } from 'node:path';
import type { Context, Next } from 'koa';
import { VIEWS_DIR } from '../shared/views.ts';

const TYPES: Record<string, string> = { '.css': 'text/css; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.svg': 'image/svg+xml', '.png': 'image/png' };

/**
 * Serves `views/static/*` from memory (read once at start): a fixed set of names, so no path
 * from the request ever reaches the filesystem.
 */
export function staticFiles() {
  const dir = join(VIEWS_DIR, 'static');
  const files = new Map<string, { body: Buffer; type: string }>();
  for (const name of readdirSync(dir)) {
    files.set(`/static/${name}`, { body: readFileSync(join(dir, name)), type: TYPES[extname(name)] ?? 'application/octet-stream' });
  }
  return function serveStatic(ctx: Context, next: Next): Promise<void> {
    const file = ctx.method === 'GET' || ctx.method === 'HEAD' ? files.get(ctx.path) : undefined;
    if (!file) return next();
    ctx.type = file.type;
    ctx.set('Cache-Control', 'public, max-age=3600');
    ctx.body = file.body;
    return Promise.resolve();
  };
}
