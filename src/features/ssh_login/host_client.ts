import { DEVICE_CODE_GRANT } from '../../shared/grant_types.ts';

/**
 * Scopes an SSH host asks for: `openid` (a signed ID token, with `amr`/`acr`), `profile`
 * (`preferred_username`, the POSIX login), `groups`, and `posix` (`uid_number`, `gid_number`).
 */
export const SSH_HOST_SCOPE = 'openid profile groups posix';

/**
 * RFC 7591 metadata of an SSH host (the PAM module in host/pam/): a confidential client (HTTP Basic,
 * RFC 6749 §2.3.1, as existing PAM device-flow modules authenticate) that only runs the device
 * authorization grant, for the scopes above. Flags given next to `--ssh` win over these.
 * @see RFC 8628 §3.1
 */
export function sshHostMetadata(): Record<string, unknown> {
  return {
    client_name: 'SSH host',
    grant_types: [DEVICE_CODE_GRANT],
    response_types: [],
    redirect_uris: [],
    token_endpoint_auth_method: 'client_secret_basic',
    scope: SSH_HOST_SCOPE,
  };
}
