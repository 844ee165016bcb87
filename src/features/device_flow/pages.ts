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

async function renderConfirm(ctx: KoaContextWithOIDC, name: string, userCode: string, scope: unknown): Promise<void> {
  await renderPage(ctx, 'device_confirm', {
    title: 'Confirm this device',
    xsrf: xsrf(ctx),
    clientName: name,
    userCode,
    scopes: describeScopes(typeof scope === 'string' ? scope : undefined),
  });
}

/** A user code as oidc-provider stores it (the 8 letters of `normalizeUserCode`), or undefined. */
function storedUserCode(input: string): string | undefined {
  const normalized = normalizeUserCode(input);
  return normalized.length === 8 ? normalized : undefined;
}

type LinkOutcome = 'confirm' | 'incorrect' | 'throttled' | 'form';

/**
 * The link with the code in it (verification_uri_complete): when the code is live, straight to the
 * confirmation page (client name, code, scopes; RFC 8628 §5.4), whose Continue posts the code with
 * `confirm`. A code that does not exist counts as a wrong entry, exactly like a typed one, so links
 * cannot be used to probe codes; expired or used ones fall back to the pre-filled form, whose
 * submission shows why. While wrong entries are throttled, nothing is looked up.
 */
async function confirmFromLink(ctx: KoaContextWithOIDC, prefill: string, userCodes: FailureThrottle): Promise<LinkOutcome> {
  if ((await userCodes.lockedFor([ctx.ip, '*'])) > 0) return 'form';
  const normalized = storedUserCode(prefill);
  const code = normalized ? await ctx.oidc.provider.DeviceCode.findByUserCode(normalized, { ignoreExpiration: true }) : undefined;
  if (!code) {
    const wait = await userCodes.fail([ctx.ip, '*']);
    if (wait > 0) {
      ctx.set('Retry-After', String(wait));
      return 'throttled';
    }
    return 'incorrect';
  }
  const live = code as unknown as { isExpired: boolean; error?: string; accountId?: string; inFlight?: boolean; clientId: string; params?: { scope?: unknown } };
  if (live.isExpired || live.error || live.accountId || live.inFlight) return 'form';
  const client = await ctx.oidc.provider.Client.find(live.clientId);
  if (!client) return 'form';
  await renderConfirm(ctx, String(client.clientName ?? client.clientId), `${normalized!.slice(0, 4)}-${normalized!.slice(4)}`, live.params?.scope);
  return 'confirm';
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
            if (prefill && !err) {
              const outcome = await confirmFromLink(ctx, prefill, userCodes);
              if (outcome === 'confirm') return;
              if (outcome === 'throttled') {
                await renderPage(ctx, 'error', { title: 'Too many attempts', error: 'too_many_requests', description: 'Too many incorrect codes. Try again later.' }, 429);
                return;
              }
              if (outcome === 'incorrect') message = 'The code in this link is incorrect. Check the code shown on your device and type it here.';
            }
            await renderPage(ctx, 'device_input', { title: 'Connect a device', xsrf: xsrf(ctx), userCode: prefill, message, prefilled: Boolean(prefill) });
          },
          async userCodeConfirmSource(ctx, _form, _client, _deviceInfo, userCode) {
            await renderConfirm(ctx, clientName(ctx), userCode, ctx.oidc.deviceCode?.params?.scope);
          },
          async successSource(ctx) {
            const clientId = ctx.oidc.client?.clientId;
            const sub = ctx.oidc.session?.accountId;
            // The confirmation page was the consent (no separate page): the audit trail still says so.
            const scope = String((ctx.oidc.deviceCode as { scope?: string } | undefined)?.scope ?? '').split(' ').filter(Boolean);
            audit.record('consent.granted', { client_id: clientId, sub, scope, via: 'device_confirmation' });
            audit.record('device.approved', { client_id: clientId, sub });
            await renderPage(ctx, 'device_done', { title: 'Device connected', outcome: 'success', clientName: clientName(ctx) });
          },
        },
      },
    };
  };
}
