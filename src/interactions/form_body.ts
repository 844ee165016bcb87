import type { Context } from 'koa';
import { GatehouseError } from '../shared/errors.ts';

/** Our forms are small: username, password, a code, a token. */
const LIMIT = 16 * 1024;

/** Reads an `application/x-www-form-urlencoded` body (our pages' forms) into a map of first values. */
export async function readForm(ctx: Context): Promise<Record<string, string>> {
  if (!ctx.is('application/x-www-form-urlencoded')) {
    throw new GatehouseError('ERR_BAD_FORM', 'expected a submitted form', { status: 415 });
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req) {
    size += (chunk as Buffer).length;
    if (size > LIMIT) throw new GatehouseError('ERR_BAD_FORM', 'form too large', { status: 413 });
    chunks.push(chunk as Buffer);
  }
  const params = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
  const out: Record<string, string> = {};
  for (const [k, v] of params) if (!(k in out)) out[k] = v;
  return out;
}
