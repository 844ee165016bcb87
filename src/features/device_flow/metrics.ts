import type Provider from 'oidc-provider';
import type { KoaContextWithOIDC } from 'oidc-provider';
import type { Metrics } from '../../http/metrics.ts';
import { DEVICE_CODE_GRANT } from '../../shared/grant_types.ts';

type Err = Error & { error?: string };

/** Token-endpoint errors that end or pace a device flow, by the label they are counted under. */
const OUTCOMES: Record<string, string> = { access_denied: 'denied', expired_token: 'expired', slow_down: 'slow_down' };

/**
 * Counts device flow outcomes in `gatehouse_device_flow_total{outcome}` from oidc-provider's
 * public `grant.success` / `grant.error` events (polling.ts reports its slow_down the same way).
 */
export function countDeviceFlowOutcomes(provider: Provider, metrics: Metrics): void {
  const emitter = provider as unknown as NodeJS.EventEmitter;
  emitter.on('grant.success', (ctx: KoaContextWithOIDC) => {
    if (ctx.oidc.params?.grant_type === DEVICE_CODE_GRANT) metrics.deviceFlow.inc({ outcome: 'approved' });
  });
  emitter.on('grant.error', (ctx: KoaContextWithOIDC, err: Err) => {
    if (ctx.oidc?.params?.grant_type !== DEVICE_CODE_GRANT) return;
    const outcome = OUTCOMES[err.error ?? ''];
    if (outcome) metrics.deviceFlow.inc({ outcome });
  });
}
