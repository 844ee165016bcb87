import { performance } from 'node:perf_hooks';
import type { Context, Next } from 'koa';
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';
import type { Store } from '../storage/adapter.ts';

/**
 * Prometheus metrics of one Gatehouse instance (a registry of its own, so several instances in
 * one process — tests — do not collide). Labels are bounded: routes are oidc-provider route names
 * or our own, never raw paths.
 */
export class Metrics {
  readonly registry = new Registry();
  /**
   * Requests answered since the last scrape, per label set: a request adds 1 to a plain number,
   * and the counter takes the sums when it is read (prom-client's `collect`, run by every read of
   * the registry), instead of hashing the four labels on every request.
   */
  readonly #answered = new Map<string, { labels: Record<'route' | 'method' | 'status' | 'listener', string>; count: number }>();
  readonly requests = new Counter({
    name: 'gatehouse_http_requests_total',
    help: 'HTTP requests by route, method and status',
    labelNames: ['route', 'method', 'status', 'listener'],
    registers: [this.registry],
    collect: () => {
      for (const entry of this.#answered.values()) {
        if (entry.count === 0) continue;
        this.requests.inc(entry.labels, entry.count);
        entry.count = 0;
      }
    },
  });
  readonly duration = new Histogram({
    name: 'gatehouse_http_request_duration_seconds',
    help: 'HTTP request duration by route',
    labelNames: ['route'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  readonly tokens = new Counter({ name: 'gatehouse_tokens_issued_total', help: 'Token endpoint successes by grant type and client', labelNames: ['grant_type', 'client_id'], registers: [this.registry] });
  readonly deviceFlow = new Counter({ name: 'gatehouse_device_flow_total', help: 'Device flow outcomes: approved, denied, expired, slow_down', labelNames: ['outcome'], registers: [this.registry] });
  readonly signInFailures = new Counter({ name: 'gatehouse_signin_failures_total', help: 'Failed sign-in attempts by reason', labelNames: ['reason'], registers: [this.registry] });
  readonly rateLimited = new Counter({ name: 'gatehouse_rate_limited_total', help: 'Requests refused with 429 by limiter', labelNames: ['limiter'], registers: [this.registry] });
  readonly storeOps = new Histogram({
    name: 'gatehouse_store_operation_duration_seconds',
    help: 'Store operation latency by operation and outcome',
    labelNames: ['operation', 'outcome'],
    buckets: [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1],
    registers: [this.registry],
  });

  constructor() {
    // Process metrics and event-loop lag (nodejs_eventloop_lag_*), CPU, memory, handles.
    collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: 10 });
  }

  /**
   * Counts every request once it is answered: a plain sum per label set (bounded: route names,
   * methods, statuses, two listeners) that prom-client takes when the registry is read, and the
   * duration histogram's child bound once per route.
   */
  middleware() {
    const answered = this.#answered;
    const timers = new Map<string, Histogram.Internal<string>>();
    const count = (ctx: Context, started: number): void => {
      const route = routeOf(ctx);
      const listener: string = ctx.state.listener ?? 'public';
      const key = `${route} ${ctx.method} ${ctx.status} ${listener}`;
      const entry = answered.get(key);
      if (entry) entry.count++;
      else answered.set(key, { labels: { route, method: ctx.method, status: String(ctx.status), listener }, count: 1 });
      let timer = timers.get(route);
      if (!timer) timers.set(route, (timer = this.duration.labels({ route })));
      timer.observe((performance.now() - started) / 1000);
    };
    // Not an async frame: counts when next() settles, either way, and hands the outcome on.
    return (ctx: Context, next: Next): Promise<void> => {
      const started = performance.now();
      return next().then(
        () => count(ctx, started),
        (err: unknown) => {
          count(ctx, started);
          throw err;
        },
      );
    };
  }

  /** `gatehouse_tokens_issued_total` for one grant type and client, its label set bound once. */
  tokenIssued(grantType: string, clientId: string): void {
    const key = `${grantType} ${clientId}`;
    let counter = this.#tokens.get(key);
    if (!counter) this.#tokens.set(key, (counter = this.tokens.labels({ grant_type: grantType, client_id: clientId })));
    counter.inc();
  }
  #tokens = new Map<string, Counter.Internal>();
}

function routeOf(ctx: Context): string {
  // A replayed document (document_cache.ts) names the route oidc-provider answered it under.
  const oidcRoute = (ctx as Context & { oidc?: { route?: string } }).oidc?.route ?? (ctx.state.route as string | undefined);
  if (oidcRoute) return oidcRoute;
  if (ctx.path.startsWith('/interaction/')) return 'interaction';
  if (ctx.path.startsWith('/static/')) return 'static';
  // The two probes by name; any other path under /healthz/ is a 404 like any unknown path (a
  // label per path would grow the metrics without bound).
  if (ctx.path === '/healthz/live') return 'healthz_live';
  if (ctx.path === '/healthz/ready') return 'healthz_ready';
  return ctx.status === 404 ? 'not_found' : 'other';
}

const OPERATIONS = ['upsert', 'insert', 'find', 'findInModels', 'findByUserCode', 'findByUid', 'exchange', 'consume', 'destroy', 'revokeByGrantId', 'list', 'increment', 'ping', 'purgeExpired'] as const;

/** The same store, timing every operation into `gatehouse_store_operation_duration_seconds`. */
export function instrumentStore(store: Store, metrics: Metrics): Store {
  const timed: Record<string, unknown> = { kind: store.kind, close: () => store.close() };
  if (store.externalVersion) timed.externalVersion = store.externalVersion.bind(store);
  if (store.coalesceReads) timed.coalesceReads = true;
  for (const op of OPERATIONS) {
    const original = (store[op] as (...args: unknown[]) => Promise<unknown>).bind(store);
    const ok = metrics.storeOps.labels({ operation: op, outcome: 'ok' });
    const failed = metrics.storeOps.labels({ operation: op, outcome: 'error' });
    timed[op] = async (...args: unknown[]) => {
      const started = performance.now();
      try {
        const result = await original(...args);
        ok.observe((performance.now() - started) / 1000);
        return result;
      } catch (err) {
        failed.observe((performance.now() - started) / 1000);
        throw err;
      }
    };
  }
  return timed as unknown as Store;
}
