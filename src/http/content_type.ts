/**
 * A JSON media type (`application/json`, `application/*+json`), as oidc-provider and our routes
 * answer: `contentType` is a `Content-Type` header value (parameters such as `charset` ignored);
 * false for anything else, including a missing header.
 * @see RFC 8259 §11, RFC 6839 §3.1 (the +json suffix)
 */
export function isJson(contentType: unknown): boolean {
  if (typeof contentType !== 'string') return false;
  const type = contentType.split(';', 1)[0]!.trim().toLowerCase();
  return type === 'application/json' || (type.startsWith('application/') && type.endsWith('+json'));
}
