/**
 * The device authorization grant's `grant_type` value, spelled once for the whole code base: the
 * device-flow feature (src/features/device_flow/), the client rules, the `clients` command's
 * `device_code` alias, the SSH host metadata and tests. In shared/ because layers below the
 * features (src/clients/) need it too; it imports nothing.
 * @see RFC 8628 §3.4
 */
export const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
