/** A JSON-serialisable record as stored for oidc-provider models and our own collections. */
export type Payload = Record<string, unknown>;

/** Deployment mode. Production refuses insecure settings instead of warning about them. */
export type Mode = 'development' | 'production';
