import type { RequestListener, Server, ServerResponse } from 'node:http';
import type { Server as TlsServer } from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../shared/logger.ts';
import type { Readiness } from './health.ts';
import { drain } from './listeners.ts';

/** Shutdown timing, in seconds (GATEHOUSE_SHUTDOWN_DRAIN_DELAY, GATEHOUSE_SHUTDOWN_TIMEOUT). */
export interface LifecycleOptions {
  /** How long to keep serving with readiness false, so load balancers stop sending traffic. */
  drainDelay: number;
  /** How long in-flight requests may take to finish once the listeners stop accepting. */
  shutdownTimeout: number;
  readiness: Readiness;
  logger: Logger;
}

/**
 * The listeners' life after start: which responses are in flight, `Connection: close` once
 * shutdown begins, the drain delay, and closing every listener within the shutdown timeout.
 */
export class ListenerLifecycle {
  readonly #options: LifecycleOptions;
  readonly #servers: Array<Server | TlsServer> = [];
  readonly #inFlight = new Set<ServerResponse>();
  #shuttingDown = false;

  constructor(options: LifecycleOptions) {
    this.#options = options;
  }

  /**
   * Wraps the app's request handler. Once shutdown begins every response says
   * `Connection: close`, so keep-alive clients reconnect (to another replica) instead of sending
   * into a socket that is about to close.
   */
  handler(handle: RequestListener): RequestListener {
    const inFlight = this.#inFlight;
    // One listener function for every response ('close' comes once): no closure per request.
    function answered(this: ServerResponse): void {
      inFlight.delete(this);
    }
    return (req, res) => {
      if (this.#shuttingDown) {
        res.shouldKeepAlive = false;
      } else {
        inFlight.add(res);
        res.on('close', answered);
      }
      handle(req, res);
    };
  }

  /** A listener to drain and close on shutdown (add it before it listens). */
  add(server: Server | TlsServer): void {
    this.#servers.push(server);
  }

  /**
   * Readiness false and `Connection: close` from now on, also on responses already in flight
   * whose headers are not out yet. Synchronous, so callers can stop their watchers right after.
   */
  stopAccepting(): void {
    this.#options.readiness.accepting = false;
    this.#shuttingDown = true;
    for (const res of this.#inFlight) if (!res.headersSent) res.shouldKeepAlive = false;
    this.#inFlight.clear();
  }

  /** Waits the drain delay, then stops accepting connections and lets in-flight requests finish. */
  async drain(): Promise<void> {
    const { drainDelay, shutdownTimeout, logger } = this.#options;
    if (drainDelay > 0) {
      logger.info({ event: 'shutdown.drain_delay', seconds: drainDelay }, `readiness is false; serving for ${drainDelay}s more so load balancers stop sending traffic`);
      await sleep(drainDelay * 1000);
    }
    logger.info({ event: 'shutdown.closing', timeout: shutdownTimeout }, 'no longer accepting connections; waiting for in-flight requests');
    await drain(this.#servers, shutdownTimeout * 1000);
  }

  /** Closes every listener at once (a start that failed half-way). */
  async abort(): Promise<void> {
    await drain(this.#servers, 0);
  }
}
