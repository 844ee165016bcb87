import type { TestServer } from './server.ts';

/**
 * A minimal browser for HTTP-level page tests: keeps cookies, does not follow redirects, and
 * pulls hidden form fields out of pages.
 */
export class CookieClient {
  readonly cookies = new Map<string, string>();
  #server: TestServer;

  constructor(server: TestServer) {
    this.#server = server;
  }

  async request(path: string, init: { method?: string; form?: Record<string, string>; headers?: Record<string, string> } = {}) {
    const url = path.startsWith('http') ? path : `${this.#server.publicUrl}${path}`;
    const headers: Record<string, string> = { accept: 'text/html', ...init.headers };
    if (this.cookies.size) headers.cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    const res = await fetch(url, {
      method: init.method ?? (init.form ? 'POST' : 'GET'),
      headers,
      body: init.form ? new URLSearchParams(init.form) : undefined,
      redirect: 'manual',
    });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq);
      const value = pair!.slice(eq + 1);
      if (/expires=Thu, 01 Jan 1970/i.test(c) || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return { res, text: await res.text() };
  }
}

/** The value of a hidden input in a page. */
export function hidden(html: string, name: string): string {
  const m = new RegExp(`name="${name}" value="([^"]*)"`).exec(html);
  if (!m) throw new Error(`no hidden field ${name} in page`);
  return m[1]!;
}
