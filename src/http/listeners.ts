import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Server as TlsServer } from 'node:https';

type AnyServer = Server | TlsServer;

/**
 * Starts a listener and resolves once it is bound (port 0 picks a free port). A bind failure
 * (EADDRINUSE, EACCES) is rejected with `setting` set on the error: the variable that chose the
 * port, so the message can name what to change.
 */
export async function listen(server: AnyServer, host: string, port: number, setting?: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(Object.assign(err, { setting })));
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}

/** Which listener a request arrived on; a certificate is only ever taken from the mTLS one. */
export type ListenerName = 'public' | 'mtls';

// A module-private symbol on the request (cheaper than a WeakMap entry per request, which the
// garbage collector has to treat as an ephemeron); nothing outside this module can set it.
const LISTENER = Symbol('gatehouse.listener');
type TaggedRequest = IncomingMessage & { [LISTENER]?: ListenerName };

/** Wraps a request handler so every request it sees is marked with its listener. */
export function tagListener<R extends IncomingMessage, S>(name: ListenerName, callback: (req: R, res: S) => void): (req: R, res: S) => void {
  return (req, res) => {
    (req as TaggedRequest)[LISTENER] = name;
    callback(req, res);
  };
}

/** The listener a request arrived on (undefined for requests injected without one). */
export function listenerOf(req: IncomingMessage): ListenerName | undefined {
  return (req as TaggedRequest)[LISTENER];
}

/** The public HTTP listener with timeouts that stop slow clients from holding sockets. */
export function createPublicServer(callback: Parameters<typeof createServer>[1]): Server {
  const server = createServer({ requestTimeout: 30_000, headersTimeout: 20_000, keepAliveTimeout: 65_000 }, tagListener('public', callback!));
  server.maxHeadersCount = 100;
  return server;
}

/**
 * Stops accepting connections, lets in-flight requests finish for up to `timeoutMs`, then
 * closes whatever is left. Idle keep-alive sockets are closed at once.
 */
export async function drain(servers: AnyServer[], timeoutMs: number): Promise<void> {
  await Promise.all(
    servers.map(
      (server) =>
        new Promise<void>((resolve) => {
          if (!server.listening) return resolve();
          const timer = setTimeout(() => server.closeAllConnections(), timeoutMs).unref();
          server.close(() => {
            clearTimeout(timer);
            resolve();
          });
          server.closeIdleConnections();
          // A request arriving on a kept-alive socket after close() is answered with
          // `Connection: close` (shouldKeepAlive survives koa resetting headers on errors).
          server.on('request', (_req, res) => {
            res.shouldKeepAlive = false;
          });
        }),
    ),
  );
}
