import { bool, setting, str } from '../setting.ts';

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
} as const;
