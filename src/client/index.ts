/**
 * Logging in to Gatehouse (or any OpenID Provider) from a Node CLI: device flow or browser +
 * PKCE, a per-issuer token cache, refresh and revocation. Imports nothing from the server.
 */
export { LoginError } from './errors.ts';
export { openBrowser } from './open_browser.ts';
export { type CachedSession, defaultConfigDir, TokenCache } from './token_cache.ts';
export {
  accessToken,
  type BrowserLoginOptions,
  cachedSession,
  type ClientOptions,
  DEFAULT_SCOPE,
  type DeviceLoginOptions,
  type DevicePrompt,
  loginWithBrowser,
  loginWithDevice,
  type LoginOptions,
  logout,
} from './session.ts';
