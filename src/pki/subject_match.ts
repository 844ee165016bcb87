import 'reflect-metadata';
import { X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import * as x509 from '@peculiar/x509';
import { canonicalFromJson, parseDnString, sameDn, type CanonicalDn } from './distinguished_name.ts';
import { BoundedCache } from './presented_certificate.ts';

/** Subject names of a certificate in comparable form. */
export interface CertificateNames {
  dn: CanonicalDn | undefined;
  dns: string[];
  email: string[];
  uri: string[];
  ip: string[];
}

const namesCache = new BoundedCache<string, CertificateNames>(2000);

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
  return namesCache.remember(cert.fingerprint256, names);
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
