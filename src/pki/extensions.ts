import 'reflect-metadata';
import type { X509Certificate } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { BoundedCache } from './presented_certificate.ts';

/** What the path check reads from one certificate's extensions (RFC 5280 §4.2). */
export interface CertificateExtensions {
  /** basicConstraints cA (§4.2.1.9). */
  ca: boolean;
  /** basicConstraints pathLenConstraint of a CA; undefined = no limit. */
  pathLength?: number;
  /** keyUsage bits (§4.2.1.3, x509.KeyUsageFlags); undefined when the extension is absent. */
  keyUsage?: number;
  /** extKeyUsage key purpose OIDs (§4.2.1.12); undefined when the extension is absent. */
  extendedKeyUsage?: readonly string[];
  /** OIDs of the extensions marked critical. */
  critical: readonly string[];
}

/** The certificate's extensions, or why they cannot be read (a known extension that does not decode). */
export type ExtensionsVerdict = CertificateExtensions | { malformed: string };

const BASIC_CONSTRAINTS = '2.5.29.19';
const KEY_USAGE = '2.5.29.15';
const EXT_KEY_USAGE = '2.5.29.37';
const SUBJECT_ALT_NAME = '2.5.29.17';
const SUBJECT_KEY_IDENTIFIER = '2.5.29.14';
const AUTHORITY_KEY_IDENTIFIER = '2.5.29.35';

/**
 * The critical extensions the client-certificate path check recognizes, by the certificate's place
 * on the path; any other critical extension gets the certificate refused (RFC 5280 §4.2, §6.1.4 (o)).
 * Recognized because the check processes them:
 * - basicConstraints (§4.2.1.9): cA and pathLenConstraint of every CA on the path. On the leaf it
 *   is read and either value allowed, as `openssl verify -purpose sslclient` does (see chain.ts).
 * - keyUsage (§4.2.1.3): keyCertSign on every CA, digitalSignature or keyAgreement on the leaf.
 * - extKeyUsage (§4.2.1.12), on the leaf only: it must allow clientAuth or anyExtendedKeyUsage.
 *   It is not processed on a CA certificate, so there a critical one is refused.
 * - subjectAltName (§4.2.1.6): matched against a registered `tls_client_auth_san_*` value (RFC 8705
 *   §2.1.2), and critical whenever the subject is empty; on a CA it only names the CA.
 *
 * Recognized because ignoring them constrains nothing: subjectKeyIdentifier (§4.2.1.2) and
 * authorityKeyIdentifier (§4.2.1.1), which only help to find the issuer (signatures decide).
 *
 * Not processed, so refused when critical: nameConstraints (§4.2.1.10, which must be critical),
 * certificatePolicies, policyMappings, policyConstraints, inhibitAnyPolicy (§4.2.1.4, .5, .11, .14:
 * no policy processing), cRLDistributionPoints and freshestCRL (§4.2.1.13, .15: no revocation
 * checks), Netscape cert type, and every private or unknown extension.
 *
 * The trust anchor's own extensions are not judged: RFC 5280 §6.1.1 (d) takes the anchor as input
 * and §6.1.3 processes the certificates it issued, not the anchor (openssl does check the anchor).
 */
export const RECOGNIZED_CRITICAL: { readonly leaf: ReadonlySet<string>; readonly ca: ReadonlySet<string> } = {
  leaf: new Set([BASIC_CONSTRAINTS, KEY_USAGE, EXT_KEY_USAGE, SUBJECT_ALT_NAME, SUBJECT_KEY_IDENTIFIER, AUTHORITY_KEY_IDENTIFIER]),
  ca: new Set([BASIC_CONSTRAINTS, KEY_USAGE, SUBJECT_ALT_NAME, SUBJECT_KEY_IDENTIFIER, AUTHORITY_KEY_IDENTIFIER]),
};

const cache = new BoundedCache<string, ExtensionsVerdict>(2000);

function read(cert: X509Certificate): ExtensionsVerdict {
  try {
    // @peculiar/x509 decodes every extension type it knows while parsing, so a malformed one throws here.
    const parsed = new x509.X509Certificate(cert.raw);
    const bc = parsed.getExtension(x509.BasicConstraintsExtension);
    return {
      ca: bc?.ca === true,
      pathLength: bc?.ca ? bc.pathLength : undefined,
      keyUsage: parsed.getExtension(x509.KeyUsagesExtension)?.usages,
      extendedKeyUsage: parsed.getExtension(x509.ExtendedKeyUsageExtension)?.usages.map(String),
      // Spread first: Extensions is an Array subclass, and its filter would make another one.
      critical: [...parsed.extensions].filter((e) => e.critical).map((e) => e.type),
    };
  } catch (err) {
    return { malformed: (err as Error).message };
  }
}

/** The extensions of `cert`, decoded once per certificate (by SHA-256 fingerprint). */
export function extensionsOf(cert: X509Certificate): ExtensionsVerdict {
  return cache.get(cert.fingerprint256) ?? cache.remember(cert.fingerprint256, read(cert));
}

/** The critical extensions of a certificate in place `on` that {@link RECOGNIZED_CRITICAL} leaves out. */
export function unrecognizedCritical(extensions: CertificateExtensions, on: 'leaf' | 'ca'): string[] {
  return extensions.critical.filter((oid) => !RECOGNIZED_CRITICAL[on].has(oid));
}
