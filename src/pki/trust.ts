import type { X509Certificate } from 'node:crypto';
import { parsePemBundle } from './presented_certificate.ts';

/**
 * The CA certificates trusted to issue client certificates at one moment (roots, or intermediates
 * an operator chose as anchors). Frozen: a reload builds a new snapshot instead of changing one,
 * so a check that started with a snapshot finishes with it, and results cached per snapshot
 * (see chain.ts) can never outlive the anchors they were computed for.
 * @see RFC 5280 §6.1.1 (d) trust anchor information
 */
export interface TrustSnapshot {
  readonly anchors: readonly X509Certificate[];
}

/** A snapshot of `anchors` (copied and frozen). */
export function trustSnapshot(anchors: readonly X509Certificate[]): TrustSnapshot {
  return Object.freeze({ anchors: Object.freeze([...anchors]) });
}

/**
 * A snapshot of every certificate in a PEM bundle (GATEHOUSE_MTLS_CA_FILE).
 * @throws Error naming `what` when the bundle holds no certificate or one does not parse
 */
export function trustSnapshotFromPem(pem: string, what: string): TrustSnapshot {
  return trustSnapshot(parsePemBundle(pem, what));
}

/** Trusts nothing: every CA-issued client certificate is refused (`self_signed_tls_client_auth` still works). */
export const NO_TRUST: TrustSnapshot = trustSnapshot([]);

/**
 * Where the current snapshot lives: read by the client-authentication checks, replaced whole by
 * the mTLS listener when the CA file changes on disk.
 */
export class ClientCaTrust {
  #current: TrustSnapshot;

  constructor(initial: TrustSnapshot = NO_TRUST) {
    this.#current = initial;
  }

  /** The snapshot to judge a request with. */
  get current(): TrustSnapshot {
    return this.#current;
  }

  /** Makes `next` the snapshot for every check from now on. */
  swap(next: TrustSnapshot): void {
    this.#current = next;
  }
}
