import { z } from 'zod';
import { duration, int, setting, str } from '../setting.ts';

const hexColour = () => z.string().regex(/^#[0-9a-fA-F]{6}$/, 'must be a colour like #2456d3');
const httpsOrPathUrl = () =>
  z.string().refine((v) => v.startsWith('/') ? !v.startsWith('//') : /^https:\/\/[^\s"'<>]+$/.test(v), 'must be an https: URL or a path on this server');

/** Token lifetimes, sign-in and device-flow throttles, and the branding of the pages people see. */
export const flows = {
  accessTokenTtl: setting({
    env: 'GATEHOUSE_ACCESS_TOKEN_TTL',
    schema: duration(60, 86400),
    default: '1h',
    type: 'duration',
    description: 'Lifetime of access tokens, for every grant; an API in GATEHOUSE_RESOURCE_SERVERS_FILE may set its own accessTokenTTL.',
  }),
  idTokenTtl: setting({
    env: 'GATEHOUSE_ID_TOKEN_TTL',
    schema: duration(60, 86400),
    default: '1h',
    type: 'duration',
    description: 'Lifetime of ID tokens.',
  }),
  refreshTokenTtl: setting({
    env: 'GATEHOUSE_REFRESH_TOKEN_TTL',
    schema: duration(300, 366 * 86400),
    default: '14d',
    type: 'duration',
    description: 'Lifetime of refresh tokens (offline_access); public clients rotate them on every use.',
  }),
  deviceCodeTtl: setting({
    env: 'GATEHOUSE_DEVICE_CODE_TTL',
    schema: duration(60, 3600),
    default: '10m',
    type: 'duration',
    description: 'How long a device code and its user code stay valid (RFC 8628 expires_in).',
  }),
  devicePollInterval: setting({
    env: 'GATEHOUSE_DEVICE_POLL_INTERVAL',
    schema: duration(1, 60),
    default: '5s',
    type: 'duration',
    description: 'Minimum polling interval announced to device clients; faster polls of a pending code get slow_down and +5 s.',
  }),
  sessionTtl: setting({
    env: 'GATEHOUSE_SESSION_TTL',
    schema: duration(300, 30 * 86400),
    default: '8h',
    type: 'duration',
    description: 'How long a browser sign-in session lasts.',
  }),
  consentTtl: setting({
    env: 'GATEHOUSE_CONSENT_TTL',
    schema: duration(300, 366 * 86400),
    default: '30d',
    type: 'duration',
    description: 'How long a person\'s consent to a client is remembered.',
  }),
  loginFailuresPerAccount: setting({
    env: 'GATEHOUSE_LOGIN_FAILURES_PER_ACCOUNT',
    schema: int(1, 10000),
    default: '5',
    type: 'integer',
    description: 'Failed sign-ins per username that lock it out (429 with Retry-After) until the throttle window ends.',
  }),
  loginFailuresPerIp: setting({
    env: 'GATEHOUSE_LOGIN_FAILURES_PER_IP',
    schema: int(1, 100000),
    default: '20',
    type: 'integer',
    description: 'Failed sign-ins per client IP that lock it out until the throttle window ends.',
  }),
  loginThrottleWindow: setting({
    env: 'GATEHOUSE_LOGIN_THROTTLE_WINDOW',
    schema: duration(10, 86400),
    default: '15m',
    type: 'duration',
    description: 'Window over which failed sign-ins are counted.',
  }),
  userCodeFailuresPerIp: setting({
    env: 'GATEHOUSE_USER_CODE_FAILURES_PER_IP',
    schema: int(1, 100000),
    default: '10',
    type: 'integer',
    description: 'Wrong device user codes per client IP that lock it out (429 with Retry-After) until the window ends.',
  }),
  userCodeFailuresGlobal: setting({
    env: 'GATEHOUSE_USER_CODE_FAILURES_GLOBAL',
    schema: int(1, 10000000),
    default: '1000',
    type: 'integer',
    description: 'Wrong device user codes from all clients together that lock code entry for everyone until the window ends.',
  }),
  userCodeThrottleWindow: setting({
    env: 'GATEHOUSE_USER_CODE_THROTTLE_WINDOW',
    schema: duration(10, 86400),
    default: '10m',
    type: 'duration',
    description: 'Window over which wrong user codes are counted.',
  }),
  productName: setting({
    env: 'GATEHOUSE_PRODUCT_NAME',
    schema: str().pipe(z.string().max(60, 'must be at most 60 characters')),
    default: 'Gatehouse',
    type: 'string',
    description: 'Product name shown on every page.',
  }),
  logoUrl: setting({
    env: 'GATEHOUSE_LOGO_URL',
    schema: httpsOrPathUrl(),
    type: 'URL',
    description: 'Logo shown on every page (an https: URL or a path such as /static/logo.svg).',
  }),
  accentColour: setting({
    env: 'GATEHOUSE_ACCENT_COLOUR',
    schema: hexColour(),
    default: '#2456d3',
    type: 'colour',
    description: 'Accent colour of buttons and focus rings, as #rrggbb.',
  }),
} as const;
