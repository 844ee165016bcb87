import type { Feature, FeatureServices } from '../feature.ts';
import { FailureThrottle } from '../../storage/failure_throttle.ts';
import { mergeParts } from '../../provider/merge.ts';
import { deviceConsentPart } from './consent.ts';
import { countDeviceFlowOutcomes } from './metrics.ts';
import { deviceFlowPart } from './pages.ts';
import { PollPaces } from './poll_paces.ts';
import { announceInterval, pacePolls } from './polling.ts';
import { userCodeGuard } from './user_code_guard.ts';

/** The settings the device flow reads (GATEHOUSE_DEVICE_*, GATEHOUSE_USER_CODE_*; seconds). */
export interface DeviceFlowOptions {
  /** `interval` announced to clients; faster polls of a pending code get slow_down. */
  devicePollInterval: number;
  /** Device code lifetime (RFC 8628 `expires_in`). */
  deviceCodeTtl: number;
  /** Wrong user codes per client IP within the window before that IP is locked out. */
  userCodeFailuresPerIp: number;
  /** Wrong user codes from everyone together within the window before entry is locked. */
  userCodeFailuresGlobal: number;
  userCodeThrottleWindow: number;
}

/**
 * RFC 8628 device authorization grant as one feature: oidc-provider's device flow with our
 * pages (pages.ts), the `interval` announcement and slow_down pacing (polling.ts, with every code's
 * pace in memory and shared through the store: poll_paces.ts), the user-code
 * pre-check and the link that opens the confirmation page (user_code_guard.ts), the confirmation
 * page as the consent (consent.ts), the wrong-code throttle (per IP and global, in the store), the
 * audit events `device.approved` / `device.denied` / `consent.granted` and the outcome metrics.
 * @see RFC 8628
 */
export function deviceFlowFeature(options: DeviceFlowOptions, services: FeatureServices): Feature {
  // Wrong device user codes, counted per client IP and for everyone together (README: brute force).
  const userCodes = new FailureThrottle(services.store, [
    { name: 'user_code:ip', limit: options.userCodeFailuresPerIp, windowSeconds: options.userCodeThrottleWindow },
    { name: 'user_code:global', limit: options.userCodeFailuresGlobal, windowSeconds: options.userCodeThrottleWindow },
  ]);
  // Created with the first routes (the server's), so the `clients` command, which serves nothing, holds no timer.
  let paces: PollPaces | undefined;
  const polling = () => {
    paces ??= new PollPaces(services.store, { now: services.now });
    return { paces, interval: options.devicePollInterval, deviceCodeTtl: options.deviceCodeTtl, now: services.now };
  };
  return {
    name: 'device_flow',
    configuration: (ctx) => mergeParts(deviceFlowPart(userCodes, services.audit)(ctx), deviceConsentPart(services.store)),
    install(provider) {
      if (services.metrics) countDeviceFlowOutcomes(provider, services.metrics);
    },
    routes: (provider) => [
      announceInterval(polling(), provider.pathFor('device_authorization', { mountPath: '' })),
      pacePolls(polling(), provider.pathFor('token', { mountPath: '' })),
      userCodeGuard(userCodes),
    ],
    close: async () => paces?.close(),
  };
}
