import { isIP } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import type { Client, Entry } from 'ldapts';
import type * as Ldapts from 'ldapts';
import type { LdapConnectorConfig } from '../../config/ldap_connector.ts';
import { GatehouseError } from '../../shared/errors.ts';
import { lazyModule } from '../../shared/lazy_module.ts';

/** ldapts, loaded when the first directory is asked (shared/lazy_module.ts). */
const ldapts = lazyModule<typeof Ldapts>('ldapts');

/**
 * The directory could not be asked: no server answered (network, TLS, timeout), the service bind
 * was refused, or it answered a search with an error. People are told the directory is
 * unavailable; nobody is signed in and no account is refused because of it.
 */
export class DirectoryUnavailableError extends GatehouseError {
  constructor(message: string, cause?: unknown) {
    super('ERR_LDAP_UNAVAILABLE', message, { status: 503, expose: false, cause });
  }
}

/**
 * The person's password was right, but their entry has no (readable) value for an attribute the
 * connector maps the account from: the stable id or the username. Almost always a misspelled
 * attribute name in the connector, or one the service account may not read. `missing` holds the
 * attribute names (never values), for the operator's log.
 */
export class DirectoryEntryIncompleteError extends GatehouseError {
  readonly missing: string[];

  constructor(missing: string[]) {
    super('ERR_LDAP_ENTRY_INCOMPLETE', `the directory entry has no readable ${missing.join(', ')}`, { status: 403, expose: false });
    this.missing = missing;
  }
}

/** A directory entry mapped per the connector's attribute names. */
export interface DirectoryUser {
  /** The entry's DN as the directory returned it (used for the user bind and `member` groups). */
  dn: string;
  /** The stable id (`entryUUID`, `objectGUID` as `hex:…`): the account key; survives renames. */
  id: string;
  username: string;
  email?: string;
  name?: string;
  uidNumber?: number;
  gidNumber?: number;
  groups: string[];
}

/** Longest username or password sent to the directory; longer input is simply wrong. */
const MAX_INPUT = 256;
const MAX_PASSWORD = 1024;
const REFUSED_BIND = new Set([48, 49, 53]);

/** Attribute values as text: the first value, or all of them. */
function values(entry: Entry, attribute: string): string[] {
  const key = Object.keys(entry).find((k) => k.toLowerCase() === attribute.toLowerCase());
  const v = key ? entry[key] : undefined;
  const list = Array.isArray(v) ? v : v === undefined ? [] : [v];
  return list.map((x) => (Buffer.isBuffer(x) ? x.toString('utf8') : x)).filter((x) => x.length > 0);
}

/** The stable id as text: printable values as they are, binary ones (AD's objectGUID) as `hex:…`. */
function stableId(entry: Entry, attribute: string): string | undefined {
  const key = Object.keys(entry).find((k) => k.toLowerCase() === attribute.toLowerCase());
  const raw = key ? entry[key] : undefined;
  const first = Array.isArray(raw) ? raw[0] : raw;
  if (first === undefined) return undefined;
  const bytes = Buffer.isBuffer(first) ? first : Buffer.from(first, 'utf8');
  if (bytes.length === 0 || bytes.length > 255) return undefined;
  return /^[\x21-\x7e]+$/.test(bytes.toString('latin1')) ? bytes.toString('latin1') : `hex:${bytes.toString('hex')}`;
}

/** The filter value that finds an entry by the id `stableId` produced (RFC 4515 escaped). */
function idFilterValue(id: string): string {
  return id.startsWith('hex:') ? ldapts().Filter.escape(Buffer.from(id.slice(4), 'hex')) : ldapts().Filter.escape(id);
}

function posixId(v: string | undefined): number | undefined {
  if (v === undefined || !/^\d{1,10}$/.test(v)) return undefined;
  const n = Number(v);
  return n <= 4294967294 ? n : undefined;
}

/**
 * The value of the first RDN of a DN when its type is `attribute` (`cn=ops,ou=groups,…` → `ops`),
 * with RFC 4514 §2.4 escapes (`\,`, `\2C`) undone; undefined otherwise.
 */
export function firstRdnValue(dn: string, attribute: string): string | undefined {
  const match = /^\s*([^=,+]+?)\s*=((?:\\[0-9A-Fa-f]{2}|\\.|[^,+\\])*)/.exec(dn);
  if (!match || match[1]!.toLowerCase() !== attribute.toLowerCase()) return undefined;
  const bytes: number[] = [];
  const raw = match[2]!.trim();
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] === '\\' && /^[0-9A-Fa-f]{2}$/.test(raw.slice(i + 1, i + 3))) {
      bytes.push(parseInt(raw.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (raw[i] === '\\' && i + 1 < raw.length) {
      bytes.push(...Buffer.from(raw[++i]!, 'utf8'));
    } else {
      bytes.push(...Buffer.from(raw[i]!, 'utf8'));
    }
  }
  const value = Buffer.from(bytes).toString('utf8');
  return value || undefined;
}

/**
 * One company directory through `ldapts`: a fresh connection per sign-in (TLS from the start or
 * StartTLS, RFC 4513 §3), the service bind, a user search with the username RFC 4515-escaped, then
 * a bind as the entry found. Usernames never become part of a DN: the bind uses the DN the
 * directory returned. Passwords are never logged and an empty one never reaches a bind (RFC 4513
 * §5.1.2: an empty password is an unauthenticated bind, which many servers accept).
 */
export class LdapDirectory {
  readonly config: LdapConnectorConfig;

  constructor(config: LdapConnectorConfig) {
    this.config = config;
  }

  /**
   * Connects to the first server of `urls` that answers and binds: as the service account, or
   * anonymously (empty DN and password, RFC 4513 §5.1.1) when there is none, so a dead server is
   * noticed here and the next one tried. With `serviceBind` false it only connects (TLS included).
   */
  async #open(urls: string[] = this.config.url, serviceBind = true): Promise<{ client: Client; url: string }> {
    const c = this.config;
    let last: unknown;
    for (const url of urls) {
      const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
      const tls: ConnectionOptions = { minVersion: 'TLSv1.2', ...(c.ca ? { ca: c.ca } : {}), ...(isIP(host) ? {} : { servername: host }) };
      // tlsOptions on an ldap:// client makes ldapts speak TLS before StartTLS: only for ldaps://.
      const client = new (ldapts().Client)({ url, timeout: c.timeoutSeconds * 1000, connectTimeout: c.timeoutSeconds * 1000, strictDN: false, ...(url.startsWith('ldaps:') ? { tlsOptions: tls } : {}) });
      try {
        if (c.startTls && url.startsWith('ldap:')) await client.startTLS({ ...tls, host });
        if (serviceBind) await client.bind(c.bindDn ?? '', c.bindPassword?.reveal() ?? '');
        return { client, url };
      } catch (err) {
        last = err;
        await client.unbind().catch(() => undefined);
      }
    }
    const e = last as Error | undefined;
    throw new DirectoryUnavailableError(`no directory server answered (${e instanceof ldapts().InvalidCredentialsError ? 'service bind refused' : (e?.message ?? 'unknown error')})`, last);
  }

  #attributes(): string[] {
    const a = this.config.attributes;
    const g = this.config.groupSearch;
    const names = [a.id, this.#usernameAttribute(), a.email, a.name, a.uidNumber, a.gidNumber, g?.style === 'memberOf' ? (g.memberAttribute ?? 'memberOf') : undefined];
    return [...new Set(names.filter((n): n is string => Boolean(n)))];
  }

  #usernameAttribute(): string {
    return this.config.attributes.username ?? this.config.userSearch.usernameAttribute;
  }

  /** Searches the users with `(&<filter>(<match>)(!<disabled>))`; exactly one entry counts. */
  async #findOne(client: Client, match: string): Promise<Entry | undefined> {
    const c = this.config;
    const disabled = c.disabledFilter ? `(!${c.disabledFilter})` : '';
    const filter = `(&${c.userSearch.filter}${match}${disabled})`;
    const { searchEntries } = await client.search(c.userSearch.baseDn, { scope: c.userSearch.scope, filter, attributes: this.#attributes(), explicitBufferAttributes: [c.attributes.id], sizeLimit: 2 });
    return searchEntries.length === 1 ? searchEntries[0] : undefined;
  }

  async #groups(client: Client, entry: Entry, username: string): Promise<string[]> {
    const g = this.config.groupSearch;
    if (!g) return [];
    let names: string[];
    if (g.style === 'memberOf') {
      names = values(entry, g.memberAttribute ?? 'memberOf').map((dn) => firstRdnValue(dn, g.nameAttribute) ?? '');
    } else {
      const member = g.memberAttribute ?? (g.style === 'member' ? 'member' : 'memberUid');
      const value = g.style === 'member' ? entry.dn : username;
      const filter = `(&${g.filter}(${member}=${ldapts().Filter.escape(value)}))`;
      const { searchEntries } = await client.search(g.baseDn!, { scope: 'sub', filter, attributes: [g.nameAttribute], sizeLimit: 1000 });
      names = searchEntries.flatMap((e) => values(e, g.nameAttribute).slice(0, 1));
    }
    return [...new Set(names.filter((n) => n.length > 0 && n.length <= 256))].slice(0, 500);
  }

  /** @throws DirectoryEntryIncompleteError when the entry lacks the stable id or the username. */
  async #map(client: Client, entry: Entry): Promise<DirectoryUser> {
    const a = this.config.attributes;
    const id = stableId(entry, a.id);
    const username = values(entry, this.#usernameAttribute())[0];
    if (!id || !username) throw new DirectoryEntryIncompleteError([...(id ? [] : [a.id]), ...(username ? [] : [this.#usernameAttribute()])]);
    const uidNumber = a.uidNumber ? posixId(values(entry, a.uidNumber)[0]) : undefined;
    const gidNumber = a.gidNumber ? posixId(values(entry, a.gidNumber)[0]) : undefined;
    return {
      dn: entry.dn,
      id,
      username,
      email: values(entry, a.email)[0],
      name: values(entry, a.name)[0],
      groups: await this.#groups(client, entry, username),
      // uid and gid come together or not at all, as for local accounts.
      ...(uidNumber !== undefined && gidNumber !== undefined ? { uidNumber, gidNumber } : {}),
    };
  }

  /**
   * Checks a username and password. Undefined for any wrong input: unknown, ambiguous or
   * disabled user, wrong or empty password, control characters in the username.
   * @throws DirectoryUnavailableError when the directory cannot be asked.
   * @throws DirectoryEntryIncompleteError when the password was right but the entry lacks the
   *   stable id or username attribute (a connector mistake, not the person's).
   */
  async authenticate(username: string, password: string): Promise<DirectoryUser | undefined> {
    if (!username || username.length > MAX_INPUT || /[\x00-\x1f\x7f]/.test(username)) return undefined;
    // An empty password would be an unauthenticated bind (RFC 4513 §5.1.2), which many servers accept.
    if (!password || password.length > MAX_PASSWORD) return undefined;
    const { client, url } = await this.#open();
    try {
      const entry = await this.#ask(() => this.#findOne(client, `(${this.config.userSearch.usernameAttribute}=${ldapts().Filter.escape(username)})`));
      if (!entry) {
        await this.#sameWorkAsABind(url);
        return undefined;
      }
      if (!(await this.#bindAs(url, entry.dn, password))) return undefined;
      return await this.#ask(() => this.#map(client, entry));
    } finally {
      await client.unbind().catch(() => undefined);
    }
  }

  /**
   * The entry with this stable id, if it still exists and is not disabled (the refresh re-check).
   * @throws DirectoryUnavailableError when the directory cannot be asked.
   */
  async lookup(id: string): Promise<DirectoryUser | undefined> {
    const { client } = await this.#open();
    try {
      const entry = await this.#ask(() => this.#findOne(client, `(${this.config.attributes.id}=${idFilterValue(id)})`));
      if (!entry) return undefined;
      try {
        return await this.#ask(() => this.#map(client, entry));
      } catch (err) {
        // An entry that no longer carries its username cannot keep its session.
        if (err instanceof DirectoryEntryIncompleteError) return undefined;
        throw err;
      }
    } finally {
      await client.unbind().catch(() => undefined);
    }
  }

  /**
   * The directory's `attributeTypes` definitions (RFC 4512 §4.2, §5.1: the root DSE names the
   * subschema subentry), read with the service account; empty when the server publishes none.
   * @throws DirectoryUnavailableError when the directory cannot be asked.
   */
  async schemaAttributeTypes(): Promise<string[]> {
    const { client } = await this.#open();
    try {
      return await this.#ask(async () => {
        const root = await client.search('', { scope: 'base', filter: '(objectClass=*)', attributes: ['subschemaSubentry'] });
        const subschema = root.searchEntries[0] ? values(root.searchEntries[0], 'subschemaSubentry')[0] : undefined;
        if (!subschema) return [];
        const { searchEntries } = await client.search(subschema, { scope: 'base', filter: '(objectClass=subschema)', attributes: ['attributeTypes'] });
        return searchEntries[0] ? values(searchEntries[0], 'attributeTypes') : [];
      });
    } finally {
      await client.unbind().catch(() => undefined);
    }
  }

  /** Whether the server at `url` accepts this password for this DN, on a connection of its own. */
  async #bindAs(url: string, dn: string, password: string): Promise<boolean> {
    const { client } = await this.#open([url], false);
    try {
      await client.bind(dn, password);
      return true;
    } catch (err) {
      // invalidCredentials (49, also ppolicy-locked and AD-disabled accounts), inappropriateAuthentication
      // (48), unwillingToPerform (53): a "no" about this person, not an outage.
      if (err instanceof ldapts().InvalidCredentialsError || REFUSED_BIND.has((err as { code?: unknown }).code as number)) return false;
      throw new DirectoryUnavailableError(`user bind failed (${(err as Error).message})`, err);
    } finally {
      await client.unbind().catch(() => undefined);
    }
  }

  /**
   * An unknown user costs what a wrong password does (a second TLS connection and a bind round
   * trip), so response times do not tell which usernames exist. The bind is anonymous: the typed
   * password goes nowhere.
   */
  async #sameWorkAsABind(url: string): Promise<void> {
    try {
      const { client } = await this.#open([url], false);
      await client.bind('', '').catch(() => undefined);
      await client.unbind().catch(() => undefined);
    } catch {
      // The directory going away here changes nothing: the answer is "incorrect" either way.
    }
  }

  async #ask<T>(op: () => Promise<T>): Promise<T> {
    try {
      return await op();
    } catch (err) {
      if (err instanceof GatehouseError) throw err;
      throw new DirectoryUnavailableError(`directory search failed (${(err as Error).message})`, err);
    }
  }
}
