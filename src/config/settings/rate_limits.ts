import { duration, int, setting } from '../setting.ts';

/**
 * Rate limits on the token and device authorization endpoints, per client IP and per client.
 * Counted in each replica's memory and shared through the store every second (README "Rate
 * limits": what a limit means with N replicas). 0 turns a limiter off.
 */
export const rateLimits = {
  tokenRateLimitIp: setting({
    env: 'GATEHOUSE_TOKEN_RATE_LIMIT_IP',
    schema: int(0, 100_000_000),
    default: '1200',
    type: 'integer',
    description: 'Token endpoint requests one client IP may make per rate-limit window (429 with Retry-After beyond it; 0 = no limit).',
  }),
  tokenRateLimitClient: setting({
    env: 'GATEHOUSE_TOKEN_RATE_LIMIT_CLIENT',
    schema: int(0, 100_000_000),
    default: '3000',
    type: 'integer',
    description:
      'Token endpoint requests per client_id per window, all IPs together (0 = no limit). Device-code polls count too: size it for the whole fleet of a public CLI client.',
  }),
  deviceRateLimitIp: setting({
    env: 'GATEHOUSE_DEVICE_RATE_LIMIT_IP',
    schema: int(0, 100_000_000),
    default: '60',
    type: 'integer',
    description: 'Device authorization requests (POST /device/auth) one client IP may make per window (0 = no limit).',
  }),
  deviceRateLimitClient: setting({
    env: 'GATEHOUSE_DEVICE_RATE_LIMIT_CLIENT',
    schema: int(0, 100_000_000),
    default: '1200',
    type: 'integer',
    description: 'Device authorization requests per client_id per window, all IPs together (0 = no limit).',
  }),
  rateLimitWindow: setting({
    env: 'GATEHOUSE_RATE_LIMIT_WINDOW',
    schema: duration(1, 86400),
    default: '1m',
    type: 'duration',
    description: 'Length of the fixed window the token and device authorization limits count in.',
  }),
} as const;
