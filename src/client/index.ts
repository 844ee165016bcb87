/**
 * Logging in to Gatehouse (or any OpenID Provider) from a Node CLI: device flow or browser +
 * PKCE, a per-issuer token cache, refresh and revocation. Imports nothing from the server.
 */
export type { TransientFailure } from './device_poll.ts';
export { LoginError } from './errors.ts';
export { openBrowser } from './open_browser.ts';
export { type CachedSession, defaultConfigDir, type Profile, type SignedInAccount, TokenCache } from './token_cache.ts';
export {
  accessToken,
  type BrowserLoginOptions,
  cachedSession,
  type ClientOptions,
  DEFAULT_SCOPE,
  type DeviceLoginOptions,
  type DevicePrompt,
  loginCommand,
  type LoginOptions,
  type LoginResult,
  loginWithBrowser,
  loginWithDevice,
  logout,
  type LogoutResult,
} from './session.ts';
