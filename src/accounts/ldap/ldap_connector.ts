import type { LdapConnectorConfig } from '../../config/ldap_connector.ts';
import type { Store } from '../../storage/adapter.ts';
import { type Account, Accounts } from '../account.ts';
import { checkPolicy, type FederatedResult, type IdentitySource, linkIdentity, type MappedClaims, sourceFields } from '../federated.ts';
import type { AccountSource, RecheckVerdict } from '../source_recheck.ts';
import { DirectoryEntryIncompleteError, DirectoryUnavailableError, type DirectoryUser, LdapDirectory } from './directory.ts';

/** Outcome of a directory sign-in: an account, wrong credentials, or a policy refusal. */
export type LdapSignInResult = FederatedResult | { ok: false; reason: 'credentials' } | { ok: false; reason: 'claims'; missing: string[] };

/** The identity namespace of a directory's stable ids (part of the account link key). */
export function ldapIssuer(connectorId: string): string {
  return `ldap:${connectorId}`;
}

function mapped(user: DirectoryUser): MappedClaims {
  return {
    subject: user.id,
    username: user.username,
    email: user.email,
    // The directory is the company's own record of the address, not something the person typed.
    emailVerified: user.email !== undefined,
    name: user.name,
    groups: user.groups,
    ...(user.uidNumber !== undefined && user.gidNumber !== undefined ? { uidNumber: user.uidNumber, gidNumber: user.gidNumber } : {}),
  };
}

/**
 * A company directory as a connector: the username/password form checked against it, accounts
 * created just in time keyed by connector + stable id (so a renamed person keeps their account),
 * the same group/domain policy as the OpenID Connect connectors, and a refresh re-check.
 */
export class LdapConnector implements AccountSource {
  readonly config: LdapConnectorConfig;
  readonly directory: LdapDirectory;
  #store: Store;

  constructor(config: LdapConnectorConfig, store: Store, directory = new LdapDirectory(config)) {
    this.config = config;
    this.directory = directory;
    this.#store = store;
  }

  get #source(): IdentitySource {
    return { connector: this.id, issuer: ldapIssuer(this.id) };
  }

  get id(): string {
    return this.config.id;
  }

  get maxStalenessSeconds(): number {
    return this.config.recheckSeconds;
  }

  /**
   * Checks the password with the directory, applies the policy, then links or creates the account.
   * An entry lacking the mapped id or username gives `claims` with the `missing` attribute names.
   * @throws DirectoryUnavailableError when the directory cannot be asked.
   */
  async signIn(username: string, password: string): Promise<LdapSignInResult> {
    let user: DirectoryUser | undefined;
    try {
      user = await this.directory.authenticate(username, password);
    } catch (err) {
      // The right password and a connector mistake: not "incorrect", and not a throttled failure.
      if (err instanceof DirectoryEntryIncompleteError) return { ok: false, reason: 'claims', missing: err.missing };
      throw err;
    }
    if (!user) return { ok: false, reason: 'credentials' };
    const m = mapped(user);
    const refusal = checkPolicy({ ...this.config, requireVerifiedEmail: false }, m);
    if (refusal) return { ok: false, reason: refusal };
    return linkIdentity(this.#store, this.#source, m);
  }

  /**
   * Looks the account's entry up again by its stable id: gone, disabled (`disabledFilter`), out of
   * `userSearch.filter`, or now outside the policy → `refused`; otherwise its claims are refreshed.
   */
  async recheck(account: Account): Promise<RecheckVerdict> {
    if (!account.upstream) return 'refused';
    let user: DirectoryUser | undefined;
    try {
      user = await this.directory.lookup(account.upstream.subject);
    } catch (err) {
      if (err instanceof DirectoryUnavailableError) return 'unreachable';
      throw err;
    }
    if (!user) return 'refused';
    const m = mapped(user);
    if (checkPolicy({ ...this.config, requireVerifiedEmail: false }, m)) return 'refused';
    await new Accounts(this.#store).update(account, sourceFields(this.#source, m, Math.floor(Date.now() / 1000)));
    return 'active';
  }
}
