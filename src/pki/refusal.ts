/**
 * Why a client certificate was refused, as a stable code. Every refusal is a 401 `invalid_client`
 * (RFC 8705 §2); the code picks the `error_description` the client operator reads, and the log line
 * carries the code and a `detail` (which certificate, which limit) the response leaves out.
 */
export type RefusalReason =
  /** No certificate in the TLS handshake (or in a trusted proxy's header). */
  | 'no_certificate'
  /** No path from the certificate to a trusted CA through the certificates the client sent. */
  | 'untrusted_issuer'
  /** A path exists but a CA certificate on it is outside its validity, not a CA, or over its path length. */
  | 'invalid_chain'
  | 'expired'
  | 'not_yet_valid'
  /** The leaf's extended key usage leaves out TLS client authentication. */
  | 'not_for_client_auth'
  /** The leaf's key usage allows neither digitalSignature nor keyAgreement (RFC 5280 §4.2.1.3). */
  | 'key_usage_not_for_client_auth'
  /** The leaf or a CA certificate the client sent has a critical extension the check does not process (RFC 5280 §4.2). */
  | 'unknown_critical_extension'
  /** An extension of a certificate on the path does not decode. */
  | 'malformed_extension'
  /** Trusted, but not issued by the CA the client pinned with `tls_client_auth_ca_sha256`. */
  | 'issuer_not_pinned'
  /** The registered `tls_client_auth_*` value is not in the certificate. */
  | 'subject_mismatch';

/** A refusal as recorded for one request; `field` names the registered subject field on a mismatch. */
export interface CertificateRefusal {
  readonly reason: RefusalReason;
  /** For the log only: may name certificates and limits, never shown to the client. */
  readonly detail?: string;
  readonly field?: string;
  /** untrusted_issuer for a self-signed certificate: no intermediate would help, so the wording differs. */
  readonly selfSigned?: boolean;
  /** The leaf's validity end or start, for the expired / not-yet-valid wording. */
  readonly at?: Date;
  /** unknown_critical_extension / malformed_extension: on which certificate of the path. */
  readonly certificate?: 'leaf' | 'intermediate' | 'anchor';
  /** unknown_critical_extension: the extensions' OIDs (from the client's own certificates, so safe to show). */
  readonly oids?: readonly string[];
}

const WHICH = {
  leaf: 'the client certificate',
  intermediate: 'a CA certificate sent with the client certificate',
  anchor: 'the CA certificate the client certificate chains to',
} as const;

/**
 * The `error_description` for a refusal: what failed, in words a client operator can act on,
 * without naming server files or configuration.
 */
export function refusalDescription(refusal: CertificateRefusal): string {
  switch (refusal.reason) {
    case 'no_certificate':
      return 'no client certificate was presented; send one in the TLS handshake to the mtls_endpoint_aliases endpoints listed in discovery';
    case 'untrusted_issuer':
      return refusal.selfSigned
        ? 'the client certificate is self-signed: not issued by a CA this server trusts (use one a trusted CA issued, or register the certificate with self_signed_tls_client_auth)'
        : 'the client certificate is not issued by a CA this server trusts (send the intermediate CA certificates with it)';
    case 'invalid_chain':
      return 'a CA certificate in the client certificate\'s chain is expired, not yet valid, or not allowed to issue it';
    case 'expired':
      return `the client certificate has expired${refusal.at ? ` (not valid after ${refusal.at.toISOString()})` : ''}`;
    case 'not_yet_valid':
      return `the client certificate is not yet valid${refusal.at ? ` (not valid before ${refusal.at.toISOString()})` : ''}`;
    case 'not_for_client_auth':
      return 'the client certificate\'s extended key usage does not allow TLS client authentication';
    case 'key_usage_not_for_client_auth':
      return 'the client certificate\'s key usage allows neither digitalSignature nor keyAgreement, so it may not be used for TLS client authentication';
    case 'unknown_critical_extension':
      return `${WHICH[refusal.certificate ?? 'leaf']} has a critical extension this server does not process${refusal.oids?.length ? ` (${refusal.oids.join(', ')})` : ''}, so it must be refused (RFC 5280 §4.2)`;
    case 'malformed_extension':
      return `${WHICH[refusal.certificate ?? 'leaf']} has an extension that cannot be decoded`;
    case 'issuer_not_pinned':
      return 'the client certificate is not issued by the CA registered in tls_client_auth_ca_sha256';
    case 'subject_mismatch':
      return `the client certificate does not match the client's registered ${refusal.field ?? 'tls_client_auth_* value'}`;
  }
}
