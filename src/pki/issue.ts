import 'reflect-metadata';
import { KeyObject, X509Certificate, createPrivateKey, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { isAbsoluteUri, isDnsName, isIpAddress, isMailbox } from './subject_metadata.ts';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

/** The key and signature algorithms of every certificate Gatehouse issues: ECDSA P-256 with SHA-256. */
export const EC = { name: 'ECDSA', namedCurve: 'P-256' } as const;
export const SIGN = { name: 'ECDSA', hash: 'SHA-256' } as const;
const DAY = 86_400_000;

/** A certificate and its private key, both PEM. */
export interface CertificateFiles {
  certPem: string;
  keyPem: string;
}

/** Subject alternative names for an issued certificate (RFC 5280 §4.2.1.6). */
export interface SubjectAltNames {
  dns?: string[];
  email?: string[];
  uri?: string[];
  ip?: string[];
}

export interface IssueOptions {
  commonName: string;
  sans?: SubjectAltNames;
  /** Validity in days from now (or from `notBefore`). */
  days: number;
  /** Client certificates carry the clientAuth extended key usage, server certificates serverAuth. */
  usage: 'client' | 'server';
  notBefore?: Date;
}

async function newKeyPair(): Promise<webcrypto.CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
}

function pkcs8Pem(key: webcrypto.CryptoKey): string {
  return KeyObject.from(key).export({ type: 'pkcs8', format: 'pem' }) as string;
}

function sanExtension(sans: SubjectAltNames): x509.SubjectAlternativeNameExtension | undefined {
  const names: x509.JsonGeneralName[] = [
    ...(sans.dns ?? []).map((value) => ({ type: 'dns' as const, value })),
    ...(sans.email ?? []).map((value) => ({ type: 'email' as const, value })),
    ...(sans.uri ?? []).map((value) => ({ type: 'url' as const, value })),
    ...(sans.ip ?? []).map((value) => ({ type: 'ip' as const, value })),
  ];
  return names.length ? new x509.SubjectAlternativeNameExtension(names) : undefined;
}

/** Checks SAN values before they reach the encoder, so a typo is a clear message, not an ASN.1 error. */
export function sanProblems(sans: SubjectAltNames): string[] {
  const problems: string[] = [];
  for (const d of sans.dns ?? []) if (!isDnsName(d)) problems.push(`--san-dns ${JSON.stringify(d)} is not a DNS name`);
  for (const e of sans.email ?? []) if (!isMailbox(e)) problems.push(`--san-email ${JSON.stringify(e)} is not an email address (local-part@domain)`);
  for (const u of sans.uri ?? []) if (!isAbsoluteUri(u)) problems.push(`--san-uri ${JSON.stringify(u)} is not an absolute URI`);
  for (const i of sans.ip ?? []) if (!isIpAddress(i)) problems.push(`--san-ip ${JSON.stringify(i)} is not an IPv4 or IPv6 address`);
  return problems;
}

/** Creates a self-signed root CA (ECDSA P-256) that may sign end-entity certificates only. */
export async function createRootCa(commonName: string, days: number): Promise<CertificateFiles> {
  const keys = await newKeyPair();
  const now = new Date();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    name: [{ CN: [commonName] }],
    keys,
    notBefore: new Date(now.getTime() - 60_000),
    notAfter: new Date(now.getTime() + days * DAY),
    signingAlgorithm: SIGN,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: cert.toString('pem'), keyPem: pkcs8Pem(keys.privateKey) };
}

/** Issues an end-entity certificate signed by `ca` (like `step ca certificate`). */
export async function issueCertificate(ca: CertificateFiles, options: IssueOptions): Promise<CertificateFiles> {
  const caCert = new x509.X509Certificate(ca.certPem);
  const caKey = await createPrivateKey(ca.keyPem).toCryptoKey(EC, false, ['sign']);
  const keys = await newKeyPair();
  const notBefore = options.notBefore ?? new Date(Date.now() - 60_000);
  const san = sanExtension(options.sans ?? {});
  const cert = await x509.X509CertificateGenerator.create({
    subject: [{ CN: [options.commonName] }],
    issuer: caCert.subjectName,
    publicKey: keys.publicKey,
    signingKey: caKey as unknown as x509.X509CertificateCreateWithKeyParams['signingKey'],
    notBefore,
    notAfter: new Date(notBefore.getTime() + options.days * DAY),
    signingAlgorithm: SIGN,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([options.usage === 'client' ? x509.ExtendedKeyUsage.clientAuth : x509.ExtendedKeyUsage.serverAuth]),
      await x509.AuthorityKeyIdentifierExtension.create(caCert.publicKey),
      ...(san ? [san] : []),
    ],
  });
  // Round-trip through node:crypto so an encoding problem fails here, not in a TLS handshake.
  new X509Certificate(cert.toString('pem'));
  return { certPem: cert.toString('pem'), keyPem: pkcs8Pem(keys.privateKey) };
}
