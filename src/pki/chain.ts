import 'reflect-metadata';
import type { X509Certificate } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { extensionsOf, unrecognizedCritical, type CertificateExtensions } from './extensions.ts';
import { BoundedCache, type PresentedCertificate } from './presented_certificate.ts';
import type { CertificateRefusal } from './refusal.ts';
import type { TrustSnapshot } from './trust.ts';

/** A certificate path from the leaf to a trust anchor, or why there is none. */
export type Verdict =
  | { ok: true; anchor: X509Certificate; /** CA certificates between leaf and anchor, leaf's issuer first. */ intermediates: readonly X509Certificate[] }
  | ({ ok: false } & CertificateRefusal);

const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
const ANY_EKU = '2.5.29.37.0';
/** A leaf's keyUsage must allow one of these for TLS client authentication. */
const CLIENT_KEY_USAGE = x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyAgreement;
/** Most intermediate CA certificates between a leaf and its anchor. */
export const MAX_INTERMEDIATES = 4;

const describe = (cert: X509Certificate) => cert.subject.replace(/\n/g, ', ');

function outsideValidity(cert: X509Certificate, now: number): 'expired' | 'not_yet_valid' | undefined {
  if (now < cert.validFromDate.getTime()) return 'not_yet_valid';
  if (now > cert.validToDate.getTime()) return 'expired';
  return undefined;
}

/**
 * The extensions of a certificate at place `on` of the path, or why they forbid it there: one that
 * does not decode, or a critical one the check does not process (RFC 5280 §4.2, §6.1.4 (o)).
 * The anchor's critical extensions are not judged (RECOGNIZED_CRITICAL in extensions.ts says why).
 */
function judgeExtensions(cert: X509Certificate, on: 'leaf' | 'intermediate' | 'anchor'): { extensions: CertificateExtensions } | { refusal: CertificateRefusal } {
  const extensions = extensionsOf(cert);
  if ('malformed' in extensions) return { refusal: { reason: 'malformed_extension', certificate: on, detail: `${on} ${describe(cert)}: ${extensions.malformed}` } };
  const oids = on === 'anchor' ? [] : unrecognizedCritical(extensions, on === 'leaf' ? 'leaf' : 'ca');
  if (oids.length) return { refusal: { reason: 'unknown_critical_extension', certificate: on, oids, detail: `${oids.join(',')} on ${on} ${describe(cert)}` } };
  return { extensions };
}

const keyUsageNames = (bits: number) =>
  Object.entries(x509.KeyUsageFlags)
    .filter(([, flag]) => typeof flag === 'number' && (bits & flag) !== 0)
    .map(([name]) => name)
    .join(',') || 'none';

/** keyUsage (absent = any) allows keyCertSign (RFC 5280 §4.2.1.3). */
const mayCertify = (ext: CertificateExtensions) => ext.keyUsage === undefined || (ext.keyUsage & x509.KeyUsageFlags.keyCertSign) !== 0;

/**
 * Issuer name (and key identifiers) match and the signature verifies (OpenSSL's X509_check_issued +
 * X509_verify). X509_check_issued also rejects a parent whose keyUsage leaves out keyCertSign; the
 * plain name match keeps such a parent on the path, so the refusal says that this CA may not issue
 * certificates (invalid_chain) instead of asking the client for intermediates it already sent.
 */
function issuedBy(child: X509Certificate, parent: X509Certificate): boolean {
  try {
    return (child.checkIssued(parent) || child.issuer === parent.subject) && child.verify(parent.publicKey);
  } catch {
    return false;
  }
}

/** The signature path and its static checks: the same for every request with the same certificates. */
type Path = { anchor: X509Certificate; intermediates: X509Certificate[] } | { refusal: CertificateRefusal };

/**
 * Finds leaf → presented CA certificates → anchor by signature (not merely by name), preferring an
 * anchor at every step, and applies the checks that do not depend on the time: intermediates must
 * carry no critical extension the check does not process and be CA certificates allowed to sign
 * certificates, within their (and the anchor's) path length.
 */
function buildPath(presented: PresentedCertificate, anchors: readonly X509Certificate[]): Path {
  let current = presented.leaf;
  const intermediates: X509Certificate[] = [];
  for (;;) {
    const anchor = anchors.find((a) => issuedBy(current, a));
    if (anchor) {
      const judged = judgeExtensions(anchor, 'anchor');
      if ('refusal' in judged) return judged;
      const limit = judged.extensions.pathLength;
      if (limit !== undefined && intermediates.length > limit) {
        return { refusal: { reason: 'invalid_chain', detail: `path_length_exceeded: ${intermediates.length} intermediates under ${describe(anchor)} (pathLen ${limit})` } };
      }
      return { anchor, intermediates };
    }
    const next = presented.chain.find((c) => c !== current && !intermediates.includes(c) && issuedBy(current, c));
    if (!next) {
      if (current.issuer === current.subject && issuedBy(current, current)) {
        return intermediates.length
          ? { refusal: { reason: 'untrusted_issuer', detail: `root not trusted: ${describe(current)}` } }
          : { refusal: { reason: 'untrusted_issuer', detail: `self-signed: ${describe(current)}`, selfSigned: true } };
      }
      return { refusal: { reason: 'untrusted_issuer', detail: `issuer ${current.issuer.replace(/\n/g, ', ')} of ${describe(current)}: neither presented nor trusted` } };
    }
    const judged = judgeExtensions(next, 'intermediate');
    if ('refusal' in judged) return judged;
    const can = judged.extensions;
    if (!can.ca) return { refusal: { reason: 'invalid_chain', detail: `not_a_ca: ${describe(next)}` } };
    if (!mayCertify(can)) return { refusal: { reason: 'invalid_chain', detail: `no_key_cert_sign: ${describe(next)}` } };
    if (can.pathLength !== undefined && intermediates.length > can.pathLength) {
      return { refusal: { reason: 'invalid_chain', detail: `path_length_exceeded: ${describe(next)} (pathLen ${can.pathLength})` } };
    }
    if (intermediates.length === MAX_INTERMEDIATES) return { refusal: { reason: 'invalid_chain', detail: `chain_too_long: more than ${MAX_INTERMEDIATES} intermediates` } };
    intermediates.push(next);
    current = next;
  }
}

/** Paths per trust snapshot: a reload's new snapshot starts with none, and the old ones go with it. */
const pathsBySnapshot = new WeakMap<TrustSnapshot, BoundedCache<string, Path>>();

function pathFor(presented: PresentedCertificate, trust: TrustSnapshot): Path {
  let paths = pathsBySnapshot.get(trust);
  if (!paths) pathsBySnapshot.set(trust, (paths = new BoundedCache(2000)));
  const key = [presented.leaf, ...presented.chain].map((c) => c.fingerprint256).join(' ');
  return paths.get(key) ?? paths.remember(key, buildPath(presented, trust.anchors));
}

/**
 * RFC 8705 §2.1 PKI method: the leaf within its validity period, with no critical extension the
 * check does not process, allowed for client authentication by its extended key usage and key
 * usage (when present), chaining through CA certificates the client sent to an anchor of `trust`,
 * every certificate on the path within its validity.
 * Synchronous (oidc-provider's mTLS hooks are); signature work is done once per certificate set
 * and snapshot, the validity windows on every call.
 * @param now milliseconds since the epoch
 * @see RFC 5280 §6.1 (a reduced path validation: no policies, name constraints or revocation, so
 *   a certificate marking one of those extensions critical is refused)
 */
export function verifyClientCertificate(presented: PresentedCertificate, trust: TrustSnapshot, now = Date.now()): Verdict {
  const { leaf } = presented;
  const invalid = outsideValidity(leaf, now);
  if (invalid) return { ok: false, reason: invalid, at: invalid === 'expired' ? leaf.validToDate : leaf.validFromDate };
  const path = pathFor(presented, trust);
  if ('refusal' in path) return { ok: false, ...path.refusal };
  for (const ca of [...path.intermediates, path.anchor]) {
    const when = outsideValidity(ca, now);
    if (when) return { ok: false, reason: 'invalid_chain', detail: `${when}: ${describe(ca)}` };
  }
  // What the leaf may be used for is judged once its issuer is trusted (openssl, too, builds the
  // chain before checking purposes): a certificate nobody here trusts is told that first, and a
  // self-signed one is pointed at self_signed_tls_client_auth, where these checks do not apply.
  const judged = judgeExtensions(leaf, 'leaf');
  if ('refusal' in judged) return { ok: false, ...judged.refusal };
  const { extendedKeyUsage: eku, keyUsage } = judged.extensions;
  if (eku && !eku.includes(CLIENT_AUTH) && !eku.includes(ANY_EKU)) return { ok: false, reason: 'not_for_client_auth', detail: `extendedKeyUsage ${eku.join(',')}` };
  // As openssl's sslclient purpose (check_purpose_ssl_client, ca = 0 for the leaf): the key must
  // sign (the TLS CertificateVerify) or agree keys. It does not look at the leaf's basicConstraints:
  // `openssl verify -purpose sslclient` accepts a cA:TRUE leaf whose key usage allows this (tried
  // with OpenSSL 3.0; only -x509_strict refuses, and then for a CA without keyUsage). We match it:
  // a cA:TRUE certificate from a trusted CA may already issue client certificates this check
  // accepts (as their intermediate), so refusing it as a leaf would protect nothing.
  if (keyUsage !== undefined && (keyUsage & CLIENT_KEY_USAGE) === 0) return { ok: false, reason: 'key_usage_not_for_client_auth', detail: `keyUsage ${keyUsageNames(keyUsage)}` };
  return { ok: true, anchor: path.anchor, intermediates: path.intermediates };
}
