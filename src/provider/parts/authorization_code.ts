import type { Configuration } from 'oidc-provider';
import { renderPage } from '../../shared/views.ts';

/**
 * Authorization code flow rules beyond oidc-provider's defaults:
 * - PKCE (S256, the only method oidc-provider 9 accepts) for every client, confidential ones
 *   included (RFC 9700 §2.1.1), not just public ones;
 * - RP-initiated logout on our own pages (no inline script or style).
 * Loopback redirect URIs of native clients already match on any port (RFC 8252 §7.3) in
 * oidc-provider; everything else matches exactly.
 * @see RFC 7636, RFC 8252 §7.3, RFC 9700 §2.1.1
 */
export function authorizationCodePart(): Configuration {
  return {
    pkce: { required: () => true },
    features: {
      rpInitiatedLogout: {
        enabled: true,
        async logoutSource(ctx, form) {
          const client = ctx.oidc.client;
          await renderPage(ctx, 'logout', { title: 'Sign out', form, clientName: client?.clientName ?? client?.clientId });
        },
        async postLogoutSuccessSource(ctx) {
          const client = ctx.oidc.client;
          await renderPage(ctx, 'logged_out', { title: 'Signed out', clientName: client?.clientName ?? client?.clientId });
        },
      },
    },
  };
}
