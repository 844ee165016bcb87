import 'reflect-metadata';
import { X509Certificate, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
// Also sets @peculiar/x509's crypto provider to node:crypto's WebCrypto.
import { EC, SIGN } from '../../src/pki/issue.ts';

const DAY = 86_400_000;

/** A certificate made for a test, with its key pair to sign further certificates. */
export interface Made {
  cert: X509Certificate;
  keys: webcrypto.CryptoKeyPair;
  name: string;
}

export interface MakeOptions {
  /** basicConstraints cA; a CA also gets keyCertSign unless `keyUsage` says otherwise. */
  ca?: boolean;
  pathLength?: number;
  keyUsage?: number;
  /** Extended key usages (OIDs); none means no extension. */
  eku?: string[];
  /** Validity window relative to now, in days. */
  fromDays?: number;
  toDays?: number;
  san?: x509.JsonGeneralName[];
}

let serial = 1;

/**
 * Makes a certificate named `CN=<name>` signed by `issuer` (self-signed without one), with exactly
 * the extensions asked for: the odd chains a real PKI produces (no CA flag, a path length, short
 * validity) without going through a CA program.
 */
export async function make(name: string, issuer: Made | undefined, options: MakeOptions = {}): Promise<Made> {
  const keys = (await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const now = Date.now();
  const extensions: x509.Extension[] = [await x509.SubjectKeyIdentifierExtension.create(keys.publicKey)];
  if (options.ca !== undefined) extensions.push(new x509.BasicConstraintsExtension(options.ca, options.pathLength, true));
  const usage = options.keyUsage ?? (options.ca ? x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign : x509.KeyUsageFlags.digitalSignature);
  extensions.push(new x509.KeyUsagesExtension(usage, true));
  if (options.eku) extensions.push(new x509.ExtendedKeyUsageExtension(options.eku));
  if (options.san) extensions.push(new x509.SubjectAlternativeNameExtension(options.san));
  if (issuer) extensions.push(await x509.AuthorityKeyIdentifierExtension.create(issuer.keys.publicKey));
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: (serial++).toString(16).padStart(2, '0'),
    subject: `CN=${name}`,
    issuer: issuer ? `CN=${issuer.name}` : `CN=${name}`,
    publicKey: keys.publicKey,
    signingKey: (issuer ?? { keys }).keys.privateKey,
    notBefore: new Date(now + (options.fromDays ?? -1) * DAY),
    notAfter: new Date(now + (options.toDays ?? 30) * DAY),
    signingAlgorithm: SIGN,
    extensions,
  });
  return { cert: new X509Certificate(cert.toString('pem')), keys, name };
}

/** A root CA (self-signed, cA, keyCertSign). */
export const root = (name: string, options: MakeOptions = {}) => make(name, undefined, { ca: true, ...options });

export const KeyUsageFlags = x509.KeyUsageFlags;
