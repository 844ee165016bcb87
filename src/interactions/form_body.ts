import type { Context } from 'koa';
import { readBodyText } from '../http/form_body.ts';
import { GatehouseError } from '../shared/errors.ts';

/** Our forms are small: username, password, a code, a token. */
const LIMIT = 16 * 1024;

/**
 * Reads an `application/x-www-form-urlencoded` body (our pages' forms) into a map of first values.
 * Through the shared reader (http/form_body.ts): middleware in front (client secret hashing) may
 * have read the body already.
 */
export async function readForm(ctx: Context): Promise<Record<string, string>> {
  if (!ctx.is('application/x-www-form-urlencoded')) {
    throw new GatehouseError('ERR_BAD_FORM', 'expected a submitted form', { status: 415 });
  }
  const text = await readBodyText(ctx);
  if (text === undefined || Buffer.byteLength(text) > LIMIT) throw new GatehouseError('ERR_BAD_FORM', 'form too large', { status: 413 });
  const params = new URLSearchParams(text);
  const out: Record<string, string> = {};
  for (const [k, v] of params) if (!(k in out)) out[k] = v;
  return out;
}
