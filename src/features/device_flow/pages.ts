import type { Configuration, KoaContextWithOIDC } from 'oidc-provider';
import { describeScopes } from '../../accounts/claims.ts';
import type { Audit } from '../../shared/audit.ts';
import { renderPage } from '../../shared/views.ts';
import type { FailureThrottle } from '../../storage/failure_throttle.ts';
import type { ProviderContext } from '../../provider/context.ts';
import { deviceFlowState } from './state.ts';

function xsrf(ctx: KoaContextWithOIDC): string {
  return String((ctx.oidc.session?.state as { secret?: string } | undefined)?.secret ?? '');
}

/**
 * On an error, oidc-provider gives the browser's session a form token before calling
 * `userCodeInputSource`, and saves that session afterwards, which fails (a 500) when the session
 * was never stored: the browser came back without its session cookie, or with one another server
 * on the same host replaced (another Gatehouse as the company IdP). Such a session is dropped
 * here; returns whether it was.
 */
function dropUnsavedSession(ctx: KoaContextWithOIDC): boolean {
  const session = ctx.oidc.session as unknown as { exp?: number; touched?: boolean } | undefined;
  if (!session || typeof session.exp === 'number') return false;
  session.touched = false;
  return true;
}

function clientName(ctx: KoaContextWithOIDC): string {
  const client = ctx.oidc.client;
  return client ? String(client.clientName ?? client.clientId) : 'an application';
}

/** oidc-provider's `base-20` user code alphabet: consonants only, so codes spell no words. */
export const USER_CODE_ALPHABET = 'BCDFGHJKLMNPQRSTVWXZ';

/**
 * What a person typed, reduced to the user code alphabet: compatibility-normalised (NFKC, so
 * full-width `ＢＣＤＦ` is `BCDF`), upper-cased, and every character outside the alphabet
 * (hyphens, spaces, `_`, dots…) dropped. `bcdf_ghjk`, `BCDF GHJK` and `ＢＣＤＦ－ＧＨＪＫ` all
 * become `BCDFGHJK`. Characters outside the alphabet carry no information, so dropping them
 * makes no code easier to guess.
 * @see RFC 8628 §6.1
 */
export function normalizeUserCode(input: string): string {
  let out = '';
  for (const c of input.normalize('NFKC').toUpperCase()) if (USER_CODE_ALPHABET.includes(c)) out += c;
  return out;
}

/**
 * RFC 8628 device authorization grant: base-20 `XXXX-XXXX` user codes (oidc-provider normalises
 * case, hyphens and spaces), and our pages for entry, confirmation, result and errors. Wrong codes
 * are counted by `userCodes` (per IP and globally); the pre-check before any lookup is
 * user_code_guard.ts. Denials and approvals are audited.
 * @see RFC 8628 §3.3, §5.1, §5.4
 */
export function deviceFlowPart(userCodes: FailureThrottle, audit: Audit) {
  return function part(_ctx: ProviderContext): Configuration {
    return {
      features: {
        deviceFlow: {
          enabled: true,
          charset: 'base-20',
          mask: '****-****',
          async userCodeInputSource(ctx, _form, out, err) {
            const name = (err as { name?: string } | undefined)?.name;
            const dropped = err !== undefined && dropUnsavedSession(ctx);
            if (name === 'AbortedError') {
              audit.record('device.denied', { client_id: ctx.oidc.client?.clientId ?? ctx.oidc.deviceCode?.clientId });
              await renderPage(ctx, 'device_done', { title: 'Access denied', outcome: 'denied' }, 200);
              return;
            }
            if (name === 'ExpiredError') {
              await renderPage(ctx, 'device_done', { title: 'Code expired', outcome: 'expired' }, 200);
              return;
            }
            if (name === 'AlreadyUsedError') {
              await renderPage(ctx, 'device_done', { title: 'Code already used', outcome: 'used' }, 200);
              return;
            }
            if (dropped) {
              // A form needs a stored session for its token: start over on a fresh page.
              ctx.status = 303;
              ctx.redirect(new URL(ctx.oidc.urlFor('code_verification')).pathname);
              return;
            }
            let message: string | undefined;
            if (name === 'NotFoundError' || name === 'NoCodeError') {
              const wait = await userCodes.fail([ctx.ip, '*']);
              if (wait > 0) {
                ctx.set('Retry-After', String(wait));
                await renderPage(ctx, 'error', {
                  title: 'Too many attempts',
                  error: 'too_many_requests',
                  description: `Too many incorrect codes. Try again in ${wait} seconds.`,
                }, 429);
                return;
              }
              message = name === 'NoCodeError' ? 'Enter the code shown on your device.' : 'The code you entered is incorrect. Check it and try again.';
            } else if (err) {
              // A bad or missing form token, most often an expired page: start over with a fresh form.
              message = out?.error === 'invalid_request' ? 'This form has expired. Enter the code again.' : 'Something went wrong. Enter the code again.';
              ctx.status = 400;
            }
            const prefill = deviceFlowState(ctx).deviceFlowPrefill ?? '';
            await renderPage(ctx, 'device_input', { title: 'Connect a device', xsrf: xsrf(ctx), userCode: prefill, message, prefilled: Boolean(prefill) });
          },
          async userCodeConfirmSource(ctx, _form, _client, _deviceInfo, userCode) {
            const params = (ctx.oidc.deviceCode?.params ?? {}) as { scope?: string };
            await renderPage(ctx, 'device_confirm', {
              title: 'Confirm this device',
              xsrf: xsrf(ctx),
              clientName: clientName(ctx),
              userCode,
              scopes: describeScopes(params.scope),
            });
          },
          async successSource(ctx) {
            audit.record('device.approved', { client_id: ctx.oidc.client?.clientId, sub: ctx.oidc.session?.accountId });
            await renderPage(ctx, 'device_done', { title: 'Device connected', outcome: 'success', clientName: clientName(ctx) });
          },
        },
      },
    };
  };
}
