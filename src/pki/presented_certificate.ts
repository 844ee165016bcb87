import { X509Certificate } from 'node:crypto';

/**
 * A client certificate as one request presented it: the leaf and the further certificates the
 * client sent with it (intermediate CAs, never trusted by themselves), taken either from the TLS
 * handshake on the mTLS listener or from a trusted proxy's header. The one value that travels from
 * the listener to the checks (`ctx.state.clientCertificate`).
 * @see RFC 8705 §2.1 (PKI method), RFC 8446 §4.4.2 (the certificate_list a peer sends)
 */
export interface PresentedCertificate {
  readonly leaf: X509Certificate;
  /** In the order the client sent them; at most {@link MAX_PRESENTED_CHAIN}. */
  readonly chain: readonly X509Certificate[];
  readonly source: 'tls' | 'proxy';
}

/** Most certificates taken from one handshake or header (leaf included); the rest are ignored. */
export const MAX_PRESENTED_CHAIN = 8;

/** Builds the value from certificates leaf first, keeping at most {@link MAX_PRESENTED_CHAIN}. */
export function presentedCertificate(certs: readonly X509Certificate[], source: PresentedCertificate['source']): PresentedCertificate | undefined {
  const [leaf, ...chain] = certs.slice(0, MAX_PRESENTED_CHAIN);
  return leaf ? Object.freeze({ leaf, chain: Object.freeze(chain), source }) : undefined;
}

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/**
 * Parses every certificate in a PEM bundle.
 * @throws Error naming `what` and the certificate's position when the bundle holds none or one does not parse
 */
export function parsePemBundle(pem: string, what: string): X509Certificate[] {
  const blocks = pem.match(PEM_BLOCK) ?? [];
  if (!blocks.length) throw new Error(`${what} holds no PEM certificate`);
  return blocks.map((b, i) => {
    try {
      return new X509Certificate(b);
    } catch (err) {
      throw new Error(`${what}: certificate ${i + 1} cannot be parsed (${(err as Error).message})`);
    }
  });
}

/**
 * A Map that forgets its oldest entry past `limit`: results that depend only on certificate bytes
 * are kept per fingerprint, so a client opening a new connection per request (a new certificate
 * object each time) is parsed and verified once, not on every handshake.
 */
export class BoundedCache<K, V> extends Map<K, V> {
  readonly #limit: number;
  constructor(limit: number) {
    super();
    this.#limit = limit;
  }

  /** Stores and returns `value`, evicting the oldest entry when full. */
  remember(key: K, value: V): V {
    if (this.size >= this.#limit && !this.has(key)) this.delete(this.keys().next().value as K);
    this.set(key, value);
    return value;
  }
}
