/**
 * oidc-provider keeps grant handlers in per-instance private state; this reader is the one way to
 * reach it (the package has no `exports` map, so the path is importable). Pinned by package-lock.
 */
declare module 'oidc-provider/lib/helpers/weak_cache.js' {
  import type { KoaContextWithOIDC } from 'oidc-provider';
  const instance: (provider: object) => { grantTypeHandlers: Map<string, (ctx: KoaContextWithOIDC) => Promise<void>> } | undefined;
  export default instance;
}
