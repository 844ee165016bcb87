import { z } from 'zod';
import { bool, setting, str } from '../setting.ts';

/** Upstream OpenID Connect providers and company directories people can sign in with, and whether local passwords stay on. */
export const connectors = {
  connectorsFile: setting({
    env: 'GATEHOUSE_CONNECTORS_FILE',
    schema: str(),
    type: 'path',
    description: 'JSON array of connectors: upstream OpenID Connect providers and LDAP / Active Directory directories ("Continue with …"); secrets are referenced by file or env name (README: Company SSO, Company directory).',
  }),
  localAccounts: setting({
    env: 'GATEHOUSE_LOCAL_ACCOUNTS',
    schema: bool(),
    default: 'true',
    type: 'boolean',
    description: 'Offer the username/password form; false leaves only the connectors (with one connector, sign-in goes straight to it).',
  }),
  upstreamRecheckUnreachable: setting({
    env: 'GATEHOUSE_UPSTREAM_RECHECK_UNREACHABLE',
    schema: z.enum(['deny', 'allow'], { message: 'must be deny or allow' }),
    default: 'deny',
    type: 'deny|allow',
    description: 'At a refresh, when the re-check of an account with its connector (upstream IdP or directory) cannot reach it: deny the refresh for now (503 temporarily_unavailable, the grant stays) or allow it (README: Company SSO).',
  }),
} as const;
