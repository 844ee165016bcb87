import { z } from 'zod';
import { bool, duration, setting, str } from '../setting.ts';

/** Upstream OpenID Connect providers people can sign in with, and whether local passwords stay on. */
export const connectors = {
  connectorsFile: setting({
    env: 'GATEHOUSE_CONNECTORS_FILE',
    schema: str(),
    type: 'path',
    description: 'JSON array of upstream OpenID Connect providers ("Continue with …" buttons); secrets are referenced by file or env name (README: Company SSO).',
  }),
  localAccounts: setting({
    env: 'GATEHOUSE_LOCAL_ACCOUNTS',
    schema: bool(),
    default: 'true',
    type: 'boolean',
    description: 'Offer the username/password form; false leaves only the connectors (with one connector, sign-in goes straight to it).',
  }),
  upstreamRecheckInterval: setting({
    env: 'GATEHOUSE_UPSTREAM_RECHECK_INTERVAL',
    schema: duration(0, 86400),
    default: '5m',
    type: 'duration',
    description: 'At a refresh, a person who signed in through a connector is re-checked with it (upstream refresh token or userinfo) when the last check is older than this; 0 checks at every refresh (README: Company SSO).',
  }),
  upstreamRecheckUnreachable: setting({
    env: 'GATEHOUSE_UPSTREAM_RECHECK_UNREACHABLE',
    schema: z.enum(['deny', 'allow'], { message: 'must be deny or allow' }),
    default: 'deny',
    type: 'deny|allow',
    description: 'When that re-check cannot reach the connector: deny the refresh for now (503 temporarily_unavailable, the grant stays) or allow it.',
  }),
} as const;
