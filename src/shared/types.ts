/** A JSON-serialisable record as stored for oidc-provider models and our own collections. */
export type Payload = Record<string, unknown>;

/** Deployment mode. Production refuses insecure settings instead of warning about them. */
export type Mode = 'development' | 'production';

/**
 * `ctx.state` key under which the device-flow guard hands a user code from a
 * verification_uri_complete link to the entry page, which pre-fills it.
 */
export const PREFILL_USER_CODE = 'prefillUserCode';
