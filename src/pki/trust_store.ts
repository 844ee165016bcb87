import type { X509Certificate } from 'node:crypto';

/**
 * The CA certificates currently trusted to issue client certificates. One object shared by the
 * listener (which replaces `anchors` when the CA file changes) and the client-auth checks.
 */
export interface TrustStore {
  anchors: readonly X509Certificate[];
}
