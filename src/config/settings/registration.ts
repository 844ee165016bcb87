import { z } from 'zod';
import { bool, duration, int, setting } from '../setting.ts';

/** Dynamic client registration (RFC 7591) and its protections. */
export const registration = {
  registration: setting({
    env: 'GATEHOUSE_REGISTRATION',
    schema: z.enum(['open', 'token', 'closed'], { message: 'must be open, token or closed' }),
    type: 'open | token | closed',
    description:
      'Dynamic client registration at /reg: open, token (an initial access token from `gatehouse registration-token create` is required) or closed. Defaults to open in development and token in production, where open is refused.',
  }),
  registrationRateLimit: setting({
    env: 'GATEHOUSE_REGISTRATION_RATE_LIMIT',
    schema: int(1, 1_000_000),
    default: '20',
    type: 'integer',
    description: 'Registration requests one client IP may make per window (429 with Retry-After beyond it).',
  }),
  registrationRateWindow: setting({
    env: 'GATEHOUSE_REGISTRATION_RATE_WINDOW',
    schema: duration(1, 86400),
    default: '1h',
    type: 'duration',
    description: 'Length of the per-IP registration rate-limit window.',
  }),
  registrationAllowPrivateUris: setting({
    env: 'GATEHOUSE_REGISTRATION_ALLOW_PRIVATE_URIS',
    schema: bool(),
    default: 'false',
    type: 'boolean',
    description: 'Allow jwks_uri / sector_identifier_uri on loopback, link-local or private addresses and let the server fetch them there.',
  }),
} as const;
