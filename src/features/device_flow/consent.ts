import { type Configuration, interactionPolicy, type KoaContextWithOIDC } from 'oidc-provider';
import { loadRememberedGrant, promptPolicy } from '../../provider/parts/accounts.ts';
import type { Store } from '../../storage/adapter.ts';

const DEVICE_ROUTES = new Set(['code_verification', 'device_resume']);

/** True while oidc-provider runs an authorization for a device code the person just confirmed. */
function confirmedDevice(ctx: KoaContextWithOIDC): boolean {
  return Boolean(ctx.oidc.entities.DeviceCode) && DEVICE_ROUTES.has(ctx.oidc.route);
}

/**
 * For a device flow, the confirmation page is the consent (RFC 8628 §5.4): it names the client,
 * the code and every scope in plain words, and oidc-provider only authorizes after the person
 * pressed its Continue. Returns a fresh grant for exactly the scopes the device asked for, so no
 * second page asks for the same thing; other flows get `undefined` (their own consent applies).
 */
async function deviceConfirmationGrant(ctx: KoaContextWithOIDC) {
  const accountId = ctx.oidc.session?.accountId;
  if (!accountId || !confirmedDevice(ctx)) return undefined;
  const code = ctx.oidc.entities.DeviceCode as { params?: { scope?: unknown } };
  const grant = new ctx.oidc.provider.Grant({ accountId, clientId: ctx.oidc.client!.clientId });
  if (typeof code.params?.scope === 'string' && code.params.scope) grant.addOIDCScope(code.params.scope);
  await grant.save();
  return grant;
}

/**
 * The confirmation page as the device flow's consent, in two pieces of oidc-provider configuration
 * that replace the accounts part's in the merge and build on them:
 * - `loadExistingGrant`: the grant above for a confirmed device code, otherwise the one every flow
 *   uses (`loadRememberedGrant`);
 * - the accounts part's interaction policy (`promptPolicy`) with one change: oidc-provider's
 *   `native_client_prompt` check (ask native clients for consent every time, RFC 8252 §8.6: any
 *   program can listen on a loopback redirect) does not apply to a confirmed device code, which has
 *   no redirect and was just confirmed on our page.
 * Every other check, and every other flow, keeps its behaviour.
 */
export function deviceConsentPart(store: Store): Configuration {
  const remembered = loadRememberedGrant(store);
  const policy = promptPolicy();
  const consent = policy.get('consent');
  const native = consent?.checks.get('native_client_prompt');
  if (!consent || !native) throw new Error('oidc-provider interaction policy has no consent/native_client_prompt check');
  const index = consent.checks.indexOf(native);
  consent.checks.remove('native_client_prompt');
  consent.checks.add(
    new interactionPolicy.Check(native.reason, native.description, native.error ?? 'interaction_required', (ctx) =>
      confirmedDevice(ctx) ? interactionPolicy.Check.NO_NEED_TO_PROMPT : native.check(ctx)),
    index,
  );
  return {
    interactions: { policy },
    async loadExistingGrant(ctx) {
      return (await deviceConfirmationGrant(ctx)) ?? remembered(ctx);
    },
  };
}
