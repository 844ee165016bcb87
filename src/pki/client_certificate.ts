import 'reflect-metadata';
import { X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import * as x509 from '@peculiar/x509';
import { canonicalFromJson, parseDnString, sameDn, type CanonicalDn } from './distinguished_name.ts';

/** A client certificate as the request presented it: over our mTLS listener or from a trusted proxy. */
export interface PresentedCertificate {
  leaf: X509Certificate;
  /** Further certificates the client sent (intermediates); never trusted by themselves. */
  chain: X509Certificate[];
  source: 'tls' | 'proxy';
}

/** Why a certificate was refused, for the log (the client only sees `invalid_client`). */
export type RefusalReason = 'expired' | 'not_yet_valid' | 'untrusted_issuer' | 'not_for_client_auth' | 'issuer_not_pinned';

export type Verdict = { ok: true; anchor: X509Certificate } | { ok: false; reason: RefusalReason };

const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
const ANY_EKU = '2.5.29.37.0';
const MAX_DEPTH = 5;

function withinValidity(cert: X509Certificate, now: number): RefusalReason | undefined {
  if (now < cert.validFromDate.getTime()) return 'not_yet_valid';
  if (now > cert.validToDate.getTime()) return 'expired';
  return undefined;
}

/**
 * Results that depend only on certificate bytes (names, signature paths) are kept per certificate
 * fingerprint, so a client that opens a new connection per request (a new certificate object each
 * time) is parsed and verified once, not on every handshake. Oldest entries go first past the limit.
 */
const CACHE_LIMIT = 2000;
function remember<V>(cache: Map<string, V>, key: string, value: V): V {
  if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value!);
  cache.set(key, value);
  return value;
}

function issuedBy(child: X509Certificate, parent: X509Certificate): boolean {
  try {
    return child.checkIssued(parent) && child.verify(parent.publicKey);
  } catch {
    return false;
  }
}

/**
 * RFC 8705 §2.1 PKI method: the leaf must be within its validity period, allowed for client
 * authentication (when it restricts its extended key usage), and chain through valid CA
 * certificates the client sent to one of `anchors` by signature, not merely by name.
 * @see RFC 5280 §6 (a reduced path validation: no policies, name constraints or revocation)
 */
export function verifyClientCertificate(presented: PresentedCertificate, anchors: readonly X509Certificate[], now = Date.now()): Verdict {
  const { leaf } = presented;
  const invalid = withinValidity(leaf, now);
  if (invalid) return { ok: false, reason: invalid };
  const eku = leaf.keyUsage;
  if (eku && !eku.includes(CLIENT_AUTH) && !eku.includes(ANY_EKU)) return { ok: false, reason: 'not_for_client_auth' };

  // Signature checks are the expensive part; the same certificates (on a keep-alive connection or a
  // new one) reuse the path found for this anchor set and only the validity windows are re-checked.
  const key = [leaf, ...presented.chain].map((c) => c.fingerprint256).join(' ');
  let path = pathCache.get(key);
  if (!path || path.anchors !== anchors) path = remember(pathCache, key, { anchors, ...buildPath(presented, anchors) });
  if (!path.anchor) return { ok: false, reason: 'untrusted_issuer' };
  if (path.intermediates.some((c) => withinValidity(c, now)) || withinValidity(path.anchor, now)) return { ok: false, reason: 'untrusted_issuer' };
  return { ok: true, anchor: path.anchor };
}

interface CachedPath {
  anchors: readonly X509Certificate[];
  anchor?: X509Certificate;
  intermediates: X509Certificate[];
}

const pathCache = new Map<string, CachedPath>();

/** Finds a signature path leaf → (presented CA certificates) → anchor, at most MAX_DEPTH long. */
function buildPath(presented: PresentedCertificate, anchors: readonly X509Certificate[]): Omit<CachedPath, 'anchors'> {
  let current = presented.leaf;
  const intermediates: X509Certificate[] = [];
  for (let depth = 0; depth < MAX_DEPTH; depth++) {
    const anchor = anchors.find((a) => issuedBy(current, a));
    if (anchor) return { anchor, intermediates };
    const next = presented.chain.find((c) => !intermediates.includes(c) && c.ca && issuedBy(current, c));
    if (!next) break;
    intermediates.push(next);
    current = next;
  }
  return { intermediates: [] };
}

/** Subject names of a certificate in comparable form. */
export interface CertificateNames {
  dn: CanonicalDn | undefined;
  dns: string[];
  email: string[];
  uri: string[];
  ip: string[];
}

const namesCache = new Map<string, CertificateNames>();

/** Normalises an IP address (IPv6 compressed and lower-cased, IPv4-mapped kept as such), or undefined. */
export function normaliseIp(ip: string): string | undefined {
  const family = isIP(ip);
  if (family === 4) return ip;
  if (family === 6) return new URL(`http://[${ip}]/`).hostname.slice(1, -1);
  return undefined;
}

const normaliseDns = (d: string) => d.toLowerCase().replace(/\.$/, '');

/** Local part exact, domain case-insensitive (RFC 5280 §7.5). */
function normaliseEmail(e: string): string {
  const at = e.lastIndexOf('@');
  return at < 0 ? e : `${e.slice(0, at)}@${e.slice(at + 1).toLowerCase()}`;
}

/** Reads the subject DN and subjectAltName entries once per certificate (by fingerprint). */
export function certificateNames(cert: X509Certificate): CertificateNames {
  const cached = namesCache.get(cert.fingerprint256);
  if (cached) return cached;
  const parsed = new x509.X509Certificate(cert.raw);
  const san = parsed.getExtension(x509.SubjectAlternativeNameExtension);
  const entries = san ? san.names.toJSON() : [];
  const of = (type: string) => entries.filter((n) => n.type === type).map((n) => n.value);
  let dn: CanonicalDn | undefined;
  try {
    dn = canonicalFromJson(parsed.subjectName.toJSON());
  } catch {
    dn = undefined;
  }
  const names: CertificateNames = {
    dn,
    dns: of('dns').map(normaliseDns),
    email: of('email').map(normaliseEmail),
    uri: of('url'),
    ip: of('ip').map((ip) => normaliseIp(ip) ?? ip),
  };
  return remember(namesCache, cert.fingerprint256, names);
}

/**
 * Whether the certificate carries the registered value: the DN compared after RFC 4514
 * normalisation, DNS names case-insensitively, IPs after normalisation, URIs exactly.
 * @see RFC 8705 §2.1.2
 */
export function subjectMatches(cert: X509Certificate, property: string, expected: string): boolean {
  const names = certificateNames(cert);
  switch (property) {
    case 'tls_client_auth_subject_dn': {
      const want = parseDnString(expected);
      return !!want && !!names.dn && sameDn(want, names.dn);
    }
    case 'tls_client_auth_san_dns':
      return names.dns.includes(normaliseDns(expected));
    case 'tls_client_auth_san_uri':
      return names.uri.includes(expected);
    case 'tls_client_auth_san_ip': {
      const want = normaliseIp(expected);
      return !!want && names.ip.includes(want);
    }
    case 'tls_client_auth_san_email':
      return names.email.includes(normaliseEmail(expected));
    default:
      return false;
  }
}

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** Parses every certificate in a PEM bundle; throws with a readable message on anything else. */
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
