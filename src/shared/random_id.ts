import { createHash, randomBytes } from 'node:crypto';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/**
 * A random identifier of letters and digits only (default 24 characters, ~143 bits): safe as a
 * command-line argument (never starts with `-`), in URLs and in file names.
 */
export function randomId(length = 24): string {
  let out = '';
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      // 248 = 4 × 62: rejecting the rest keeps every character equally likely.
      if (byte < 248 && out.length < length) out += ALPHABET[byte % 62];
    }
  }
  return out;
}

/**
 * The identifier of a stored secret (an initial access token): `<prefix>_` and the secret's
 * SHA-256 in base64url. It names the secret without revealing it, and the prefix keeps it from
 * starting with `-` (one base64url digest in 64 does), which a command line would read as an
 * option.
 */
export function digestId(prefix: string, secret: string): string {
  if (!/^[A-Za-z][A-Za-z0-9]*$/.test(prefix)) throw new TypeError('digestId: the prefix must be letters and digits, starting with a letter');
  return `${prefix}_${createHash('sha256').update(secret).digest('base64url')}`;
}
