import type { Middleware } from 'koa';
import type Provider from 'oidc-provider';
import type { Configuration } from 'oidc-provider';
import type { Metrics } from '../http/metrics.ts';
import type { ProviderContext } from '../provider/context.ts';
import type { Audit } from '../shared/audit.ts';
import type { Store } from '../storage/adapter.ts';

/**
 * The one extension point for a feature of Gatehouse (the device flow, later SSH logins or a
 * directory): everything a flow adds to the server, kept in one folder under `src/features/`.
 * The server (src/server/) and the `gatehouse clients` command compose the same list of features
 * (src/features/all.ts), so a client is validated against exactly the provider that serves it.
 *
 * Every member is optional. Only oidc-provider's public API may be used, never its private
 * `lib/` modules, which change without notice (test/architecture/imports.test.ts enforces it).
 */
export interface Feature {
  /** Short stable name, e.g. `device_flow`. */
  readonly name: string;
  /**
   * oidc-provider configuration this feature contributes (e.g. `features.deviceFlow` and its
   * page hooks). Merged after the core parts, key by key (src/provider/merge.ts).
   */
  configuration?(ctx: ProviderContext): Configuration;
  /**
   * Installs grants and behaviour on each built provider through its public API:
   * `provider.registerGrantType`, events (`provider.on`), models such as `provider.DeviceCode`.
   * Called once per instance (a key rotation builds a new one), before `routes`.
   */
  install?(provider: Provider): void;
  /**
   * koa routes and middleware served before oidc-provider's own router, on every listener, in
   * order (after the server's own guards and rate limits, before the interaction pages). A
   * middleware that awaits `next()` can read oidc-provider's answer and `ctx.oidc` afterwards.
   * Only the server calls this; the `clients` command serves no requests.
   */
  routes?(provider: Provider): Middleware[];
  /**
   * Called once on shutdown, after the listeners have drained and before the store closes: writes
   * what the feature keeps in memory for other replicas (e.g. device-code paces) to the store.
   */
  close?(): Promise<void>;
}

/**
 * Runtime services a feature is built with. The server passes its own; the `clients` command
 * passes the store it opened and its stderr audit, so the same feature builds in both places.
 */
export interface FeatureServices {
  store: Store;
  audit: Audit;
  /** Prometheus metrics; absent outside the server (the CLI exports none). */
  metrics?: Metrics;
  /** Current time in epoch milliseconds; tests inject a clock. Default `Date.now`. */
  now?: () => number;
}
