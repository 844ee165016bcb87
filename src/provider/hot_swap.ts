import type { RequestListener } from 'node:http';
import type Provider from 'oidc-provider';
import type { Audit } from '../shared/audit.ts';
import type { Logger } from '../shared/logger.ts';
import { KeyRing } from '../keys/key_ring.ts';
import type { KeyMaterial } from '../keys/key_material.ts';

/** One built provider and the request handler of the app around it. */
export interface BuiltProvider {
  provider: Provider;
  handle: RequestListener;
}

export interface ProviderHotSwapOptions {
  /** The signing keys file the key ring watches (GATEHOUSE_JWKS_FILE or the generated one). */
  jwksPath: string;
  /** Builds a provider (and its app) for a keystore; called at start and on every rotation. */
  build: (jwks: KeyMaterial['jwks']) => BuiltProvider;
  /** Checks the key set at start only (a ConfigError stops the start); later key sets are applied whatever it would say. */
  checkFirst?: (jwks: KeyMaterial['jwks']) => void;
  audit: Audit;
  logger: Logger;
}

/**
 * oidc-provider's keystore is fixed per instance: a rotation (file changed on disk, or a key
 * reaching its activation/retirement time) builds a new instance and swaps it in between
 * requests, audited as `keys.rotated`. All state is in the store, so nothing in flight depends
 * on the old instance. A keys file that cannot be read, or a key set no provider can be built
 * for, is not swapped in: the previous keys keep signing and the reason is logged as
 * `keys.reload_failed`. A readable key set is applied even when it leaves a resource server
 * without a key for its signingAlg (a removed key must stop signing): that API answers
 * `temporarily_unavailable` and the build logs why (parts/resources.ts).
 */
export class ProviderHotSwap {
  readonly #keyRing: KeyRing;
  readonly #build: ProviderHotSwapOptions['build'];
  #current: BuiltProvider & { kids: string[] };

  /** Reads the keys file, builds the first provider and starts watching. Throws what `build` throws. */
  constructor(options: ProviderHotSwapOptions) {
    this.#build = options.build;
    this.#keyRing = new KeyRing(
      options.jwksPath,
      (jwks) => {
        const before = new Set(this.#current.kids);
        this.#current = this.#assemble(jwks);
        const after = new Set(this.#current.kids);
        options.audit.record('keys.rotated', {
          added: [...after].filter((k) => !before.has(k)),
          removed: [...before].filter((k) => !after.has(k)),
          signing: jwks.keys.filter((k) => !k.key_ops).map((k) => k.kid ?? ''),
        });
      },
      (err) => options.logger.error({ event: 'keys.reload_failed', err: { message: err.message } }, 'new signing keys not applied; keeping the previous keys'),
    );
    const jwks = this.#keyRing.start();
    try {
      options.checkFirst?.(jwks);
      this.#current = this.#assemble(jwks);
    } catch (err) {
      this.#keyRing.stop();
      throw err;
    }
  }

  #assemble(jwks: KeyMaterial['jwks']): BuiltProvider & { kids: string[] } {
    return { ...this.#build(jwks), kids: jwks.keys.map((k) => k.kid ?? '') };
  }

  /** The provider serving requests now. */
  get provider(): Provider {
    return this.#current.provider;
  }

  /** A request handler that always hands the request to the current provider's app. */
  readonly handle: RequestListener = (req, res) => this.#current.handle(req, res);

  /** Stops watching the keys file. */
  stop(): void {
    this.#keyRing.stop();
  }
}
