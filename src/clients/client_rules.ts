import { BlockList, isIP } from 'node:net';
import { errors } from 'oidc-provider';
import { DEVICE_CODE_GRANT } from '../shared/grant_types.ts';
import { TLS_SUBJECT_FIELDS, tlsSubjectMetadataProblem } from '../pki/subject_metadata.ts';
import { checkDisplayedText } from './client_text.ts';

/**
 * Gatehouse's own client metadata rules, on top of what oidc-provider's schema checks (types,
 * enums, contacts, native redirect rules, jwks/jwks_uri exclusivity, tls_client_auth subject
 * fields when mTLS is on). They run for every client: registered (RFC 7591/7592), added with
 * `gatehouse clients`, loaded from the store or from the static clients file.
 *
 * A problem throws oidc-provider's InvalidClientMetadata; a description starting with
 * `redirect_uris` becomes `invalid_redirect_uri` (RFC 7591 §3.2.2), anything else
 * `invalid_client_metadata`.
 * @see RFC 7591 §5, RFC 9700 §2.1 and §4.1, RFC 8252 §7.3 and §8.3
 */
export interface ClientRuleOptions {
  /** GATEHOUSE_REGISTRATION_ALLOW_PRIVATE_URIS: jwks_uri / sector_identifier_uri may name private hosts. */
  allowPrivateUris: boolean;
  /**
   * A client certificate can reach Gatehouse: the mTLS listener runs (GATEHOUSE_MTLS_ENABLED) or a
   * trusted proxy forwards certificates (GATEHOUSE_CLIENT_CERT_HEADER). Without it the certificate
   * methods are refused.
   */
  clientCertificates: boolean;
}

export const LIMITS = {
  /** Longest URI of any kind. */
  uri: 2000,
  clientName: 200,
  /** software_id, software_version and other short strings. */
  shortString: 200,
  scope: 1000,
  redirectUris: 20,
  contacts: 10,
  jwksKeys: 10,
  /** The whole document, serialized. */
  documentBytes: 32 * 1024,
} as const;

const AUTH_METHODS = new Set(['none', 'client_secret_basic', 'client_secret_post', 'private_key_jwt', 'tls_client_auth', 'self_signed_tls_client_auth']);
const DANGEROUS_SCHEMES = new Set(['javascript:', 'data:', 'vbscript:', 'file:', 'blob:', 'about:']);
const INFO_URIS = ['logo_uri', 'policy_uri', 'tos_uri', 'client_uri'];
const FETCHED_URIS = ['jwks_uri', 'sector_identifier_uri'];

/** Loopback, link-local, private and other non-public ranges the server must never fetch from. */
const PRIVATE_RANGES = new BlockList();
for (const [net, prefix] of [['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12], ['192.168.0.0', 16], ['224.0.0.0', 4], ['240.0.0.0', 4]] as const) {
  PRIVATE_RANGES.addSubnet(net, prefix, 'ipv4');
}
for (const [net, prefix] of [['::', 128], ['::1', 128], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8]] as const) {
  PRIVATE_RANGES.addSubnet(net, prefix, 'ipv6');
}

function fail(description: string): never {
  throw new errors.InvalidClientMetadata(description);
}

/** True for hosts that are loopback, link-local or private by name or by literal address. */
export function isPrivateHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase().replace(/\.$/, '');
  if (host === 'localhost' || host.endsWith('.localhost') || host.endsWith('.local') || host.endsWith('.internal')) return true;
  const family = isIP(host);
  if (family === 4) return PRIVATE_RANGES.check(host, 'ipv4');
  if (family === 6) {
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(host);
    if (mapped?.[1]) return PRIVATE_RANGES.check(mapped[1], 'ipv4');
    return PRIVATE_RANGES.check(host, 'ipv6');
  }
  return false;
}

function isLoopbackHost(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127(\.\d{1,3}){3}$/.test(hostname);
}

function stringArray(m: Record<string, unknown>, field: string, max: number): string[] {
  const value = m[field];
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) fail(`${field} must be an array of strings`);
  if (value.length > max) fail(`${field} must not have more than ${max} entries`);
  return value as string[];
}

function optionalString(m: Record<string, unknown>, field: string, max: number): string | undefined {
  const value = m[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') fail(`${field} must be a string`);
  if (value.length > max) fail(`${field} must not be longer than ${max} characters`);
  return value;
}

function parseUri(value: string, label: string): URL {
  if (value.length > LIMITS.uri) fail(`${label} must not be longer than ${LIMITS.uri} characters`);
  const url = URL.parse(value);
  if (!url) fail(`${label} must be absolute URIs`);
  if (url.username || url.password) fail(`${label} must not contain user information`);
  if (value.includes('#')) fail(`${label} must not contain fragments`);
  return url;
}

/** RFC 9700 §4.1 / RFC 8252 §7.3: exact https URIs, loopback http for local apps, nothing executable. */
function checkRedirectUris(m: Record<string, unknown>, field: 'redirect_uris' | 'post_logout_redirect_uris'): void {
  const native = m.application_type === 'native';
  for (const value of stringArray(m, field, LIMITS.redirectUris)) {
    const url = parseUri(value, field);
    if (DANGEROUS_SCHEMES.has(url.protocol)) fail(`${field} must not use the ${url.protocol.slice(0, -1)} scheme`);
    if (url.protocol === 'http:' && !isLoopbackHost(url.hostname)) {
      fail(`${field} may only use http for loopback addresses (127.0.0.1, [::1], localhost); use https`);
    }
    if (!native && url.protocol !== 'https:' && url.protocol !== 'http:') {
      fail(`${field} of a web client must be https (or http on a loopback address); set application_type native for a custom scheme`);
    }
  }
}

function checkUris(m: Record<string, unknown>, options: ClientRuleOptions): void {
  for (const field of INFO_URIS) {
    const value = optionalString(m, field, LIMITS.uri);
    if (value === undefined) continue;
    if (parseUri(value, field).protocol !== 'https:') fail(`${field} must be an https URI`);
  }
  for (const field of [...FETCHED_URIS, 'initiate_login_uri']) {
    const value = optionalString(m, field, LIMITS.uri);
    if (value === undefined) continue;
    const url = parseUri(value, field);
    if (url.protocol !== 'https:') fail(`${field} must be an https URI`);
    if (FETCHED_URIS.includes(field) && !options.allowPrivateUris && isPrivateHost(url.hostname)) {
      fail(`${field} must not point at a loopback, link-local or private address`);
    }
  }
}

function checkGrants(m: Record<string, unknown>): void {
  const grants = stringArray(m, 'grant_types', 10);
  const responseTypes = stringArray(m, 'response_types', 5);
  const method = m.token_endpoint_auth_method;

  if (grants.includes('implicit') || responseTypes.some((rt) => rt.split(' ').some((t) => t === 'token' || t === 'id_token'))) {
    fail('the implicit and hybrid flows are not allowed; use response_types ["code"] with the authorization_code grant');
  }
  if (grants.includes('password')) fail('the password grant is not allowed');
  if (responseTypes.some((rt) => rt !== 'code')) fail('response_types may only contain "code"');
  if (responseTypes.length && !grants.includes('authorization_code')) fail('response_types "code" requires the authorization_code grant; use response_types [] otherwise');
  if (grants.includes('authorization_code') && !responseTypes.length) fail('the authorization_code grant requires response_types ["code"]');
  if (grants.includes('refresh_token') && !grants.includes('authorization_code') && !grants.includes(DEVICE_CODE_GRANT)) {
    fail('the refresh_token grant requires the authorization_code or device_code grant');
  }
  if (method === 'none' && grants.includes('client_credentials')) fail('the client_credentials grant requires client authentication; token_endpoint_auth_method none is not allowed with it');
}

const CERTIFICATE_METHODS = new Set(['tls_client_auth', 'self_signed_tls_client_auth']);

/**
 * Why a client cannot work on this server as registered: a certificate authentication method
 * (RFC 8705 §2) or certificate-bound tokens (§3) when no certificate can reach it. Undefined when it can.
 */
function certificateMethodProblem(m: Record<string, unknown>, options: Pick<ClientRuleOptions, 'clientCertificates'>): string | undefined {
  if (options.clientCertificates) return undefined;
  const method = m.token_endpoint_auth_method;
  const why = 'and none can reach this server: the mTLS listener is off (GATEHOUSE_MTLS_ENABLED=false) and no proxy forwards certificates (GATEHOUSE_CLIENT_CERT_HEADER)';
  if (typeof method === 'string' && CERTIFICATE_METHODS.has(method)) return `token_endpoint_auth_method ${method} needs a client certificate, ${why}`;
  // RFC 8705 §3: binding a token needs the certificate too; dropping the request silently would hand out bearer tokens.
  if (m.tls_client_certificate_bound_access_tokens === true) return `tls_client_certificate_bound_access_tokens needs a client certificate, ${why}`;
  return undefined;
}

function checkAuthentication(m: Record<string, unknown>, options: ClientRuleOptions): void {
  const method = m.token_endpoint_auth_method;
  if (typeof method !== 'string' || !AUTH_METHODS.has(method)) {
    fail(`token_endpoint_auth_method must be one of ${[...AUTH_METHODS].join(', ')}`);
  }
  const unusable = certificateMethodProblem(m, options);
  if (unusable) fail(unusable);
  const subjects = TLS_SUBJECT_FIELDS.filter((f) => m[f] !== undefined && m[f] !== null);
  for (const f of subjects) optionalString(m, f, LIMITS.uri);
  if (method === 'tls_client_auth') {
    if (subjects.length !== 1) fail(`tls_client_auth requires exactly one of ${TLS_SUBJECT_FIELDS.join(', ')}`);
  } else if (subjects.length) {
    fail(`${subjects[0]} is only allowed with token_endpoint_auth_method tls_client_auth`);
  }
  if ((method === 'self_signed_tls_client_auth' || method === 'private_key_jwt') && m.jwks === undefined && m.jwks_uri === undefined) {
    fail(`${method} requires jwks or an https jwks_uri`);
  }
  if (m.jwks !== undefined) {
    const keys = (m.jwks as { keys?: unknown } | null)?.keys;
    if (!Array.isArray(keys)) fail('jwks must be a JWK Set with a keys array');
    if (keys.length > LIMITS.jwksKeys) fail(`jwks must not have more than ${LIMITS.jwksKeys} keys`);
  }
}

function checkNames(m: Record<string, unknown>): void {
  optionalString(m, 'client_name', LIMITS.clientName);
  for (const field of ['software_id', 'software_version']) optionalString(m, field, LIMITS.shortString);
  optionalString(m, 'scope', LIMITS.scope);
  stringArray(m, 'contacts', LIMITS.contacts);
}

/** Applies every rule; throws InvalidClientMetadata at the first problem. */
export function checkClientMetadata(m: Record<string, unknown>, options: ClientRuleOptions): void {
  let size: number;
  try {
    size = Buffer.byteLength(JSON.stringify(m));
  } catch {
    fail('client metadata must be plain JSON');
  }
  if (size > LIMITS.documentBytes) fail(`client metadata must not be larger than ${LIMITS.documentBytes} bytes`);
  if (m.application_type !== undefined && m.application_type !== 'web' && m.application_type !== 'native') fail('application_type must be web or native');
  checkNames(m);
  checkDisplayedText(m);
  checkAuthentication(m, options);
  const subjectProblem = tlsSubjectMetadataProblem(m);
  if (subjectProblem) fail(subjectProblem);
  checkGrants(m);
  checkRedirectUris(m, 'redirect_uris');
  checkRedirectUris(m, 'post_logout_redirect_uris');
  checkUris(m, options);
}
