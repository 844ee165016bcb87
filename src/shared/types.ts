/** A JSON-serialisable record as stored for oidc-provider models and our own collections. */
export type Payload = Record<string, unknown>;
