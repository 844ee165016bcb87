import { LdapConnector } from '../accounts/ldap/ldap_connector.ts';
import { checkDirectorySchema } from '../accounts/ldap/schema_check.ts';
import { SignIn } from '../accounts/sign_in.ts';
import { AccountRecheck } from '../accounts/source_recheck.ts';
import { UpstreamClient } from '../accounts/upstream_client.ts';
import type { Config } from '../config/load.ts';
import type { Audit } from '../shared/audit.ts';
import type { Logger } from '../shared/logger.ts';
import { Sealer } from '../shared/seal.ts';
import type { Store } from '../storage/adapter.ts';
import { callbackPath } from './upstream_routes.ts';

/**
 * The settings of the ways in: local accounts and their throttle (GATEHOUSE_LOCAL_ACCOUNTS,
 * GATEHOUSE_LOGIN_*), the connectors file, the offboarding re-check
 * (GATEHOUSE_UPSTREAM_RECHECK_UNREACHABLE, its state kept as long as a refresh token) and how
 * long consent is remembered.
 */
export type SignInSettings = Pick<
  Config,
  'issuer' | 'localAccounts' | 'loginFailuresPerAccount' | 'loginFailuresPerIp' | 'loginThrottleWindow' | 'connectors' | 'ldapConnectors' | 'upstreamRecheckUnreachable' | 'refreshTokenTtl' | 'consentTtl'
>;

export interface SignInServices {
  store: Store;
  logger: Logger;
  audit: Audit;
  /** Cookie keys: they seal the state kept per connector account for the re-check. */
  cookieKeys: string[];
}

/** Every way a person can sign in, as the interaction routes (routes.ts) and the provider (the re-check) take them. */
export interface SignInSources {
  /** Password and TOTP checks of local accounts, throttled. */
  signIn: SignIn;
  /** Whether the local username/password form is offered. */
  localAccounts: boolean;
  /** Upstream OpenID Connect providers offered as "Continue with …". */
  upstream: UpstreamClient[];
  /** Company directories (LDAP) whose username/password form is offered. */
  directories: LdapConnector[];
  /** At a refresh, accounts from connectors are asked about again (accounts/source_recheck.ts). */
  recheck: AccountRecheck;
  /** How long consent is remembered per account and client, seconds. */
  consentTtl: number;
}

/**
 * Builds the sign-in sources from the settings. Upstream discovery and the directories' schema
 * checks run in the background: an upstream that is down at start only disables its button's
 * target, and attribute names a directory's schema lacks are logged (they would make every
 * password look wrong).
 */
export function signInSources(settings: SignInSettings, services: SignInServices): SignInSources {
  const { store, logger, audit } = services;
  const upstream = settings.connectors.map((c) => new UpstreamClient(c, `${settings.issuer}${callbackPath(c.id)}`, logger, store));
  for (const client of upstream) client.warmUp();
  const directories = settings.ldapConnectors.map((c) => new LdapConnector(c, store));
  for (const d of directories) void checkDirectorySchema(d.directory, logger);
  return {
    signIn: new SignIn(store, { failuresPerAccount: settings.loginFailuresPerAccount, failuresPerIp: settings.loginFailuresPerIp, windowSeconds: settings.loginThrottleWindow }),
    localAccounts: settings.localAccounts,
    upstream,
    directories,
    recheck: new AccountRecheck(store, [...upstream, ...directories], {
      sealer: new Sealer(services.cookieKeys, 'connector state'),
      onUnreachable: settings.upstreamRecheckUnreachable,
      stateTtl: settings.refreshTokenTtl,
      logger,
      audit,
    }),
    consentTtl: settings.consentTtl,
  };
}
