import type { RequestListener, Server, ServerResponse } from 'node:http';
import type { Server as TlsServer } from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Config } from '../config/load.ts';
import type { Logger } from '../shared/logger.ts';
import type { Readiness } from './health.ts';
import { drain } from './listeners.ts';

/**
 * Shutdown timing, in seconds: GATEHOUSE_SHUTDOWN_DRAIN_DELAY (how long to keep serving with
 * readiness false, so load balancers stop sending traffic) and GATEHOUSE_SHUTDOWN_TIMEOUT (how
 * long in-flight requests may take to finish once the listeners stop accepting).
 */
export type LifecycleSettings = Pick<Config, 'shutdownDrainDelay' | 'shutdownTimeout'>;

/**
 * The server's life after start: readiness, which responses are in flight, `Connection: close`
 * once shutdown begins, the drain delay, closing every listener within the shutdown timeout, and
 * then what was opened for them (rate-limit counters, the store), in one close sequence that a
 * start failing half-way runs too.
 */
export class ListenerLifecycle {
  /** What /healthz/ready reports; false from the moment shutdown begins. */
  readonly readiness: Readiness = { accepting: true };
  readonly #settings: LifecycleSettings;
  readonly #logger: Logger;
  readonly #servers: Array<Server | TlsServer> = [];
  readonly #inFlight = new Set<ServerResponse>();
  readonly #watchers: Array<() => void> = [];
  readonly #closers: Array<() => Promise<void>> = [];
  #shuttingDown = false;
  #closing: Promise<void> | undefined;

  constructor(settings: LifecycleSettings, logger: Logger) {
    this.#settings = settings;
    this.#logger = logger;
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

  /** Stopped as soon as shutdown begins, before the drain (file watchers: the keys, the mTLS files). */
  onStop(stop: () => void): void {
    this.#watchers.push(stop);
  }

  /**
   * Closed once the listeners are closed, the last added first, so what was opened first (the
   * store) is closed after what still writes to it (the rate-limit counters' last flush).
   */
  defer(close: () => Promise<void>): void {
    this.#closers.unshift(close);
  }

  /**
   * Readiness false and `Connection: close` from now on (also on responses in flight whose
   * headers are not out yet), watchers stopped, the drain delay, listeners closed within the
   * shutdown timeout, then the deferred closes. Idempotent: every call returns the same promise.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#stopAccepting();
      for (const stop of this.#watchers) stop();
      await this.#drain();
      await this.#closeDeferred();
      this.#logger.info({ event: 'stopped' }, 'Gatehouse stopped');
    })();
    return this.#closing;
  }

  /** A start that failed half-way: watchers stopped, every listener closed at once, the deferred closes. */
  async abort(): Promise<void> {
    for (const stop of this.#watchers) stop();
    await drain(this.#servers, 0);
    await this.#closeDeferred();
  }

  #stopAccepting(): void {
    this.readiness.accepting = false;
    this.#shuttingDown = true;
    for (const res of this.#inFlight) if (!res.headersSent) res.shouldKeepAlive = false;
    this.#inFlight.clear();
  }

  async #drain(): Promise<void> {
    const { shutdownDrainDelay: delay, shutdownTimeout: timeout } = this.#settings;
    if (delay > 0) {
      this.#logger.info({ event: 'shutdown.drain_delay', seconds: delay }, `readiness is false; serving for ${delay}s more so load balancers stop sending traffic`);
      await sleep(delay * 1000);
    }
    this.#logger.info({ event: 'shutdown.closing', timeout }, 'no longer accepting connections; waiting for in-flight requests');
    await drain(this.#servers, timeout * 1000);
  }

  async #closeDeferred(): Promise<void> {
    // Each once, even when a failed start's abort is followed by a close.
    for (const close of this.#closers.splice(0)) await close();
  }
}
