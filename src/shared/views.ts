import { join } from 'node:path';
import ejs from 'ejs';

/** Where templates live: `views/` at the project root. */
export const VIEWS_DIR = join(import.meta.dirname, '..', '..', 'views');

/** Branding and per-request values every page needs. */
export interface PageBase {
  productName: string;
  logoUrl?: string;
  accentColor?: string;
  /** The CSRF token for forms on this page, when it has any. */
  csrf?: string;
}

let base: PageBase = { productName: 'Gatehouse' };

/** Set once at start from configuration. */
export function setPageBase(next: PageBase): void {
  base = next;
}

interface RenderTarget {
  status: number;
  body: unknown;
  type: string;
}

/**
 * Renders `views/<name>.ejs` inside `views/layout.ejs`. ejs escapes every `<%= %>` value, so
 * self-asserted strings such as `client_name` can be passed as they are.
 */
export async function renderPage(target: RenderTarget, name: string, locals: Record<string, unknown> = {}, status?: number): Promise<void> {
  const data = { ...base, ...locals, title: locals.title ?? base.productName };
  const content = await ejs.renderFile(join(VIEWS_DIR, `${name}.ejs`), data, { async: false, rmWhitespace: false });
  const html = await ejs.renderFile(join(VIEWS_DIR, 'layout.ejs'), { ...data, content }, { async: false });
  if (status !== undefined) target.status = status;
  target.type = 'html';
  target.body = html;
}
