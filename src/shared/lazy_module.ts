import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/**
 * A package loaded on its first use instead of at start, for packages only some configurations
 * use (the LDAP client, the upstream OpenID Connect client): a server configured without them does
 * not hold their code and data in memory (7–12 MB resident each, measured; issue 17's memory
 * target). Synchronous: `require`, which loads ESM-only packages too (Node ≥ 22.12). Every user of
 * a package must load it this way, so the server holds one copy (a dual package's CommonJS build
 * is another module than its ESM build: `instanceof` across the two fails).
 * @returns a function answering the package's exports, loading them the first time
 * @throws what `require` throws (a missing package: MODULE_NOT_FOUND) on that first call
 */
export function lazyModule<T>(specifier: string): () => T {
  let loaded: T | undefined;
  return () => (loaded ??= require(specifier) as T);
}
