import type * as Otpauth from 'otpauth';
import type { TOTP } from 'otpauth';
import { lazyModule } from '../shared/lazy_module.ts';

/** otpauth, loaded at the first TOTP enrolment or check (shared/lazy_module.ts). */
const otpauth = lazyModule<typeof Otpauth>('otpauth');

/** RFC 6238 defaults every authenticator app understands: SHA-1, 6 digits, 30 s steps. */
const PERIOD = 30;

export interface TotpEnrollment {
  /** Base32 secret, stored with the account. */
  secret: string;
  /** otpauth:// URI for authenticator apps (and the QR code). */
  uri: string;
}

function totpFor(secret: string, issuer: string, label: string): TOTP {
  const { Secret, TOTP } = otpauth();
  return new TOTP({ issuer, label, algorithm: 'SHA1', digits: 6, period: PERIOD, secret: Secret.fromBase32(secret) });
}

/** A fresh 160-bit secret and its otpauth URI. */
export function newTotp(issuer: string, username: string): TotpEnrollment {
  const secret = new (otpauth().Secret)({ size: 20 }).base32;
  return { secret, uri: totpFor(secret, issuer, username).toString() };
}

/**
 * The time step a code belongs to when it is valid now (one step of clock drift either way),
 * or undefined. Callers record used steps so a code cannot be replayed.
 */
export function matchTotp(secret: string, code: string, now = Date.now()): number | undefined {
  const token = code.replace(/\s+/g, '');
  if (!/^\d{6}$/.test(token)) return undefined;
  const { Secret, TOTP } = otpauth();
  const delta = TOTP.validate({ token, secret: Secret.fromBase32(secret), algorithm: 'SHA1', digits: 6, period: PERIOD, timestamp: now, window: 1 });
  if (delta === null) return undefined;
  return Math.floor(now / 1000 / PERIOD) + delta;
}
