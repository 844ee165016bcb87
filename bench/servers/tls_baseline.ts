// The baseline of the mTLS scenarios: a bare node:https server doing the handshake Gatehouse's
// mutual-TLS listener does (server certificate from the development PKI, requestCert, no
// renegotiation) and answering every request with a constant JSON body once the body is read.
// Prints `ready <port>` when listening.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';

const server = createServer(
  {
    cert: readFileSync(process.env.BENCH_TLS_CERT!),
    key: readFileSync(process.env.BENCH_TLS_KEY!),
    ca: readFileSync(process.env.BENCH_TLS_CA!),
    requestCert: true,
    rejectUnauthorized: false,
    minVersion: 'TLSv1.2',
    keepAliveTimeout: 65_000,
  },
  (req, res) => {
    req.resume();
    req.on('end', () => {
      const body = JSON.stringify({ ok: true });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
  },
);
server.on('secureConnection', (socket) => socket.disableRenegotiation());
server.listen(Number(process.env.BENCH_PORT), '127.0.0.1', () => process.stdout.write(`ready ${process.env.BENCH_PORT}\n`));
process.on('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
