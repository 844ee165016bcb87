import { statSync, unwatchFile, watchFile } from 'node:fs';
import type { JWK } from 'jose';
import { effectiveJwks, nextTransition, nowSeconds, readKeyFile, type StoredKey } from './key_file.ts';

/**
 * Watches the keys file and the clock: calls `onChange` with the effective JWKS whenever the
 * file changes on disk (a rotated Secret, `gatehouse keys rotate`) or a key reaches its
 * activation or retirement time. Every replica computes the same result from the same file.
 */
export class KeyRing {
  #path: string;
  #timer: NodeJS.Timeout | undefined;
  #onChange: (jwks: { keys: JWK[] }) => void;
  #onError: (err: Error) => void;
  #mtime = 0;

  constructor(path: string, onChange: (jwks: { keys: JWK[] }) => void, onError: (err: Error) => void) {
    this.#path = path;
    this.#onChange = onChange;
    this.#onError = onError;
  }

  /** The effective JWKS now; starts watching. */
  start(pollMs = 2000): { keys: JWK[] } {
    const keys = readKeyFile(this.#path);
    this.#mtime = statSync(this.#path).mtimeMs;
    this.#schedule(keys);
    watchFile(this.#path, { interval: pollMs, persistent: false }, (curr) => {
      if (curr.mtimeMs === this.#mtime || curr.mtimeMs === 0) return;
      this.#mtime = curr.mtimeMs;
      this.#reload();
    });
    return effectiveJwks(keys);
  }

  #reload(): void {
    try {
      const keys = readKeyFile(this.#path);
      this.#schedule(keys);
      this.#onChange(effectiveJwks(keys));
    } catch (err) {
      this.#onError(err as Error);
    }
  }

  #schedule(keys: StoredKey[]): void {
    clearTimeout(this.#timer);
    const at = nextTransition(keys);
    if (at === undefined) return;
    // setTimeout caps at ~24.8 days; a later transition is re-scheduled when this one fires.
    const delay = Math.min((at - nowSeconds()) * 1000 + 50, 2 ** 31 - 1);
    this.#timer = setTimeout(() => this.#reload(), delay);
    this.#timer.unref();
  }

  stop(): void {
    clearTimeout(this.#timer);
    unwatchFile(this.#path);
  }
}
