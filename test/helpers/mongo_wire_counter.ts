import { connect, createServer, type Server, type Socket } from 'node:net';
import { BSON } from 'mongodb';
import { freePort } from './net.ts';

/** One command a client sent, read off the wire: its name and the collection it names (if any). */
export interface WireCommand {
  command: string;
  collection?: string;
}

/**
 * A TCP proxy in front of a MongoDB-protocol server that reads every OP_MSG the client sends and
 * records its command: a black-box count of store round trips, independent of the driver's own
 * monitoring. Server answers are passed through untouched.
 */
export async function startWireCounter(target: { host: string; port: number }): Promise<{ port: number; commands: WireCommand[]; close(): Promise<void> }> {
  const commands: WireCommand[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(target.port, target.host);
    sockets.add(client).add(upstream);
    let pending = Buffer.alloc(0);
    client.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 16 && pending.length >= pending.readInt32LE(0)) {
        const length = pending.readInt32LE(0);
        const message = pending.subarray(0, length);
        pending = pending.subarray(length);
        // OP_MSG (2013): header (16), flagBits (4), then sections; kind 0 holds the command document.
        if (message.readInt32LE(12) === 2013 && message[20] === 0) {
          const doc = BSON.deserialize(message.subarray(21, 21 + message.readInt32LE(21)));
          const command = Object.keys(doc)[0] ?? '';
          const value = doc[command] as unknown;
          commands.push({ command, ...(typeof value === 'string' ? { collection: value } : {}) });
        }
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk) => client.write(chunk));
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    port,
    commands,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
