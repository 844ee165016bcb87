/**
 * The device authorization grant's `grant_type` value, spelled once for the whole code base
 * (client rules, the `clients` command's `device_code` alias, metrics, tests). A leaf module:
 * it imports nothing, so any layer may import it.
 * @see RFC 8628 §3.4
 */
export const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
