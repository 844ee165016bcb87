import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { LoginError } from './errors.ts';

/** A one-shot redirect receiver on 127.0.0.1 and a random port (RFC 8252 §7.3). */
export interface LoopbackReceiver {
  redirectUri: string;
  /** The full callback URL once a request with the expected `state` arrives. */
  callback: Promise<URL>;
  close(): void;
}

const PAGE = (title: string, text: string) =>
  `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title}</title></head><body><h1>${title}</h1><p>${text}</p></body></html>`;

function answer(res: ServerResponse, status: number, title: string, text: string): void {
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'content-security-policy': "default-src 'none'",
    'cache-control': 'no-store',
    'referrer-policy': 'no-referrer',
    connection: 'close',
  });
  res.end(PAGE(title, text));
}

/**
 * Listens for the authorization response. Requests without the expected `state` get 400 and do
 * not end the wait (another local process cannot cut a login short or inject a code).
 */
export async function startLoopback(expectedState: string, signal?: AbortSignal): Promise<LoopbackReceiver> {
  let settle!: { resolve: (u: URL) => void; reject: (e: Error) => void };
  const callback = new Promise<URL>((resolve, reject) => (settle = { resolve, reject }));
  callback.catch(() => {});
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', redirectUri);
    if (req.method !== 'GET' || url.pathname !== '/callback') return answer(res, 404, 'Not found', 'This address only receives the sign-in response.');
    if (url.searchParams.get('state') !== expectedState) return answer(res, 400, 'Unexpected response', 'This response does not belong to the sign-in in progress.');
    const error = url.searchParams.get('error');
    if (error) answer(res, 200, 'Sign-in not completed', 'The sign-in did not complete. Return to your terminal for details.');
    else answer(res, 200, 'Signed in', 'You are signed in. You can close this tab and return to your terminal.');
    settle.resolve(url);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const redirectUri = `http://127.0.0.1:${port}/callback`;
  const close = () => {
    server.close();
    server.closeAllConnections();
  };
  signal?.addEventListener('abort', () => settle.reject(new LoginError('ERR_ABORTED', 'the login was interrupted or timed out')), { once: true });
  return { redirectUri, callback, close };
}
