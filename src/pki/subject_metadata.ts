import { isIP } from 'node:net';
import { parseDnString } from './distinguished_name.ts';

/** The registered subject fields of a `tls_client_auth` client. @see RFC 8705 §2.1.2 */
export const TLS_SUBJECT_FIELDS = ['tls_client_auth_subject_dn', 'tls_client_auth_san_dns', 'tls_client_auth_san_uri', 'tls_client_auth_san_ip', 'tls_client_auth_san_email'] as const;

export type SubjectProperty = (typeof TLS_SUBJECT_FIELDS)[number];

// RFC 5321 §4.1.2 Mailbox, the form RFC 5280 §4.2.1.6 prescribes for an rfc822Name: a dot-string
// or quoted local part, '@', a domain. No display name, comment or angle brackets.
const ATOM = "[A-Za-z0-9!#$%&'*+\\-/=?^_`{|}~]+";
const LOCAL_PART = new RegExp(`^(?:${ATOM}(?:\\.${ATOM})*|"(?:[\\x20\\x21\\x23-\\x5b\\x5d-\\x7e]|\\\\[\\x20-\\x7e])*")$`);
const LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
// RFC 3986 §2: unreserved, reserved and '%' of pct-encoded; nothing else may appear in a URI.
const URI_CHARS = /^[A-Za-z][A-Za-z0-9+.-]*:[A-Za-z0-9\-._~:/?#[\]@!$&'()*+,;=%]+$/;

/**
 * A DNS name in RFC 1034 §3.5 preferred syntax (RFC 5280 §4.2.1.6), at most 253 characters; a
 * final dot is allowed, so is a leading `*.` label (a wildcard dNSName). Not an IP address.
 */
export function isDnsName(value: string): boolean {
  const name = value.endsWith('.') ? value.slice(0, -1) : value;
  if (!name || name.length > 253 || isIP(name)) return false;
  const labels = name.split('.');
  if (labels[0] === '*' && labels.length > 1) labels.shift();
  return labels.every((l) => LABEL.test(l));
}

/** An RFC 5321 Mailbox (`local-part@domain`, ASCII), at most 254 characters, with a DNS domain. */
export function isMailbox(value: string): boolean {
  const at = value.lastIndexOf('@');
  if (at < 1 || value.length > 254) return false;
  const local = value.slice(0, at);
  const domain = value.slice(at + 1);
  return local.length <= 64 && LOCAL_PART.test(local) && !domain.startsWith('*') && isDnsName(domain) && !domain.endsWith('.');
}

/** An IPv4 or IPv6 address literal (no zone id, no brackets). */
export function isIpAddress(value: string): boolean {
  return isIP(value) !== 0 && !value.includes('%');
}

/** An absolute URI (RFC 3986 §4.3): a scheme, and only URI characters. */
export function isAbsoluteUri(value: string): boolean {
  return URI_CHARS.test(value) && URL.canParse(value);
}

const RULES: Record<SubjectProperty, { valid: (v: string) => boolean; expected: string }> = {
  tls_client_auth_subject_dn: { valid: (v) => parseDnString(v) !== undefined, expected: 'an RFC 4514 distinguished name such as CN=billing,O=Example' },
  tls_client_auth_san_dns: { valid: isDnsName, expected: 'a DNS name such as billing.internal.example' },
  tls_client_auth_san_uri: { valid: isAbsoluteUri, expected: 'an absolute URI such as spiffe://example.org/ns/prod/sa/billing' },
  tls_client_auth_san_ip: { valid: isIpAddress, expected: 'an IPv4 or IPv6 address such as 10.1.2.3 or 2001:db8::1' },
  tls_client_auth_san_email: { valid: isMailbox, expected: 'an email address (local-part@domain) such as billing@example.com' },
};

/**
 * Why a registered `tls_client_auth_*` value can never match a certificate, as an
 * `invalid_client_metadata` description naming the field; undefined when it is well-formed (or
 * `field` is not one of {@link TLS_SUBJECT_FIELDS}). Types and lengths are checked elsewhere.
 * @see RFC 8705 §2.1.2, RFC 5280 §4.2.1.6, RFC 4514 §3
 */
export function tlsSubjectProblem(field: string, value: string): string | undefined {
  if (!Object.hasOwn(RULES, field)) return undefined;
  const rule = RULES[field as SubjectProperty];
  if (rule.valid(value)) return undefined;
  return `${field} must be ${rule.expected}`;
}

/**
 * The first problem with any `tls_client_auth_*` value of a client's metadata (strings only; the
 * caller checks types and lengths), or undefined.
 */
export function tlsSubjectMetadataProblem(metadata: Record<string, unknown>): string | undefined {
  for (const field of TLS_SUBJECT_FIELDS) {
    const value = metadata[field];
    if (typeof value !== 'string') continue;
    const problem = tlsSubjectProblem(field, value);
    if (problem) return problem;
  }
  return undefined;
}
