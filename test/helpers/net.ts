import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';

/**
 * The kernel's ephemeral port range ([low, high], inclusive): where `listen(0)` and the source
 * port of every outgoing connection come from. Linux default 32768–60999.
 */
function ephemeralRange(): [number, number] {
  try {
    const [low = NaN, high = NaN] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (Number.isInteger(low) && Number.isInteger(high) && low <= high) return [low, high];
  } catch { /* not Linux: the usual IANA range */ }
  return [49152, 65535];
}

/**
 * Ports this process has handed out, so one test file never gets the same one twice. Test files run
 * in two processes at once (test/run.ts); across them, a pick among ~22,000 ports rarely meets the
 * other's, and a port the other process is listening on fails the listen check.
 */
const handedOut = new Set<number>();

/** Listens on 127.0.0.1:port and closes again: true when the port was free. */
function tryPort(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/**
 * A free TCP port on 127.0.0.1, for issuers that must name the port before the server starts and
 * for services that are started later ("down at start") on a port chosen now.
 *
 * The port comes from below the kernel's ephemeral range: a port from `listen(0)` is in that range,
 * so between being chosen and being listened on it could become the source port of any outgoing
 * connection (Chromium's, the server's own) and the listen would fail with EADDRINUSE (seen in CI).
 * Ports below the range are only ever taken by an explicit bind.
 */
export async function freePort(): Promise<number> {
  const [low] = ephemeralRange();
  const floor = 10_000;
  if (low - floor >= 1_000) {
    for (let attempt = 0; attempt < 200; attempt++) {
      const port = floor + Math.floor(Math.random() * (low - floor));
      if (handedOut.has(port)) continue;
      if (await tryPort(port)) {
        handedOut.add(port);
        return port;
      }
    }
  }
  // A machine whose ephemeral range starts low: let the kernel choose.
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/** Resolves once something accepts TCP connections on the port, or rejects at the deadline or when `child` exits first. */
export async function waitForPort(port: number, child: ChildProcess, output: () => string, name: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${name} exited during start (${child.exitCode ?? child.signalCode}):\n${output()}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => (socket.destroy(), resolve(true)));
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`${name} did not listen on ${port} within ${timeoutMs} ms:\n${output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
