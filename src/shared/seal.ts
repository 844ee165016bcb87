import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

/**
 * Authenticated encryption of small records kept in the store (AES-256-GCM, a key derived with
 * HKDF-SHA256 from each of the server's cookie keys for one `purpose`). The first key seals; every
 * key may open, so rotating the cookie keys keeps older records readable while the old key stays.
 * A copy of the store alone reveals nothing.
 */
export class Sealer {
  #keys: Buffer[];

  constructor(secrets: string[], purpose: string) {
    if (!secrets.length) throw new Error('Sealer needs at least one key');
    this.#keys = secrets.map((s) => Buffer.from(hkdfSync('sha256', s, Buffer.alloc(0), `gatehouse ${purpose}`, 32)));
  }

  /** `v1.<iv>.<ciphertext>.<tag>`, base64url. */
  seal(plaintext: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.#keys[0]!, iv);
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return ['v1', iv, body, cipher.getAuthTag()].map((p) => (typeof p === 'string' ? p : p.toString('base64url'))).join('.');
  }

  /** The plaintext, or undefined when no key opens it (altered, or sealed with a retired key). */
  open(sealed: string): string | undefined {
    const [version, iv, body, tag] = sealed.split('.');
    if (version !== 'v1' || !iv || body === undefined || !tag) return undefined;
    for (const key of this.#keys) {
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
        decipher.setAuthTag(Buffer.from(tag, 'base64url'));
        return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
      } catch {
        // Not this key.
      }
    }
    return undefined;
  }
}
