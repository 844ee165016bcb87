import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Server as TlsServer } from 'node:https';

type AnyServer = Server | TlsServer;

/** Starts a listener and resolves once it is bound (port 0 picks a free port). */
export async function listen(server: AnyServer, host: string, port: number): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}

/** The public HTTP listener with timeouts that stop slow clients from holding sockets. */
export function createPublicServer(callback: Parameters<typeof createServer>[1]): Server {
  const server = createServer({ requestTimeout: 30_000, headersTimeout: 20_000, keepAliveTimeout: 65_000 }, callback);
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
          // Keep-alive sockets that finish a response after close() must not linger.
          server.on('request', (_req, res) => res.setHeader('Connection', 'close'));
        }),
    ),
  );
}
