import { randomUUID } from 'node:crypto';
import { AlreadyExistsError, NotFoundError, UsageError } from '../shared/errors.ts';
import type { Store } from '../storage/adapter.ts';
import { DisallowedPasswordError, hashPassword, preparePassword } from './password.ts';

/** A local user as stored (model `Account`, keyed by the opaque, stable `sub`). */
export interface Account {
  id: string;
  username: string;
  name?: string;
  email?: string;
  emailVerified: boolean;
  groups: string[];
  uidNumber?: number;
  gidNumber?: number;
  disabled: boolean;
  passwordHash: string;
  /** Base32 TOTP secret when a second factor is enrolled. */
  totpSecret?: string;
  createdAt: number;
  /** Set for accounts created at a first sign-in through an upstream connector (no password). */
  upstream?: UpstreamIdentity;
  /** When claims were last refreshed from the upstream (seconds). */
  updatedAt?: number;
  /** When the account's source last vouched for the person (sign-in or refresh re-check), seconds. */
  checkedAt?: number;
  /**
   * Set when the account's connector refused it at a re-check (accounts/source_recheck.ts): every token
   * stops working until the person signs in through the connector again.
   */
  refusedBySource?: { at: number; connector: string; reason: string };
}

/** Who the upstream provider says the person is; `issuer` + `subject` is the identity key. */
export interface UpstreamIdentity {
  connector: string;
  issuer: string;
  subject: string;
  /** The upstream's username claim, released as `preferred_username`. */
  username: string;
}

export interface NewAccount {
  username: string;
  password: string;
  name?: string;
  email?: string;
  emailVerified?: boolean;
  groups?: string[];
  uidNumber?: number;
  gidNumber?: number;
}

export const ACCOUNT = 'Account';
/** Unique username index: lower-cased username → account id, inserted atomically. */
export const ACCOUNT_NAME = 'AccountName';

const USERNAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;
const GROUP = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** Upstream identity index: `issuer|subject` → account id, inserted atomically (never keyed by email). */
export const ACCOUNT_LINK = 'AccountLink';

export function linkKey(issuer: string, subject: string): string {
  return `${issuer}|${subject}`;
}

/** Usernames are case-insensitive; the canonical form is lower case. */
export function canonicalUsername(username: string): string {
  return username.trim().toLowerCase();
}

export function checkUsername(username: string): string {
  const u = canonicalUsername(username);
  if (!USERNAME.test(u)) throw new UsageError(`invalid username "${username.slice(0, 70)}": use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit`);
  return u;
}

export function checkPassword(password: string): void {
  if (password.length < 8) throw new UsageError('password must be at least 8 characters');
  if (password.length > 1024) throw new UsageError('password must be at most 1024 characters');
  if (preparePassword(password) === undefined) throw new UsageError(new DisallowedPasswordError().message);
}

function checkFields(a: Omit<NewAccount, 'username' | 'password'>): void {
  if (a.email !== undefined && !EMAIL.test(a.email)) throw new UsageError(`invalid email address "${a.email}"`);
  for (const g of a.groups ?? []) if (!GROUP.test(g)) throw new UsageError(`invalid group name "${g}"`);
  for (const [k, v] of [['uid', a.uidNumber], ['gid', a.gidNumber]] as const) {
    if (v !== undefined && (!Number.isInteger(v) || v < 0 || v > 4294967294)) throw new UsageError(`${k} must be a whole number between 0 and 4294967294`);
  }
  if ((a.uidNumber === undefined) !== (a.gidNumber === undefined)) throw new UsageError('--uid and --gid go together');
}

/** Account records in the store: creation with a unique username, lookups, updates. */
export class Accounts {
  #store: Store;

  constructor(store: Store) {
    this.#store = store;
  }

  async create(input: NewAccount): Promise<Account> {
    const username = checkUsername(input.username);
    checkPassword(input.password);
    checkFields(input);
    const id = randomUUID();
    const account: Account = {
      id,
      username,
      name: input.name,
      email: input.email,
      emailVerified: input.emailVerified ?? false,
      groups: [...new Set(input.groups ?? [])],
      uidNumber: input.uidNumber,
      gidNumber: input.gidNumber,
      disabled: false,
      passwordHash: await hashPassword(input.password),
      createdAt: Math.floor(Date.now() / 1000),
    };
    // The name index is claimed first and atomically, so two concurrent adds cannot both win.
    if (!(await this.#store.insert(ACCOUNT_NAME, username, { accountId: id }))) throw new AlreadyExistsError(`user ${username}`);
    await this.#store.upsert(ACCOUNT, id, { ...account });
    return account;
  }

  async findById(id: string): Promise<Account | undefined> {
    const payload = await this.#store.find(ACCOUNT, id);
    return payload ? (payload as unknown as Account) : undefined;
  }

  async findByUsername(username: string): Promise<Account | undefined> {
    const index = await this.#store.find(ACCOUNT_NAME, canonicalUsername(username));
    if (!index || typeof index.accountId !== 'string') return undefined;
    return this.findById(index.accountId);
  }

  /** Like findByUsername, but an unknown user is an error naming it. */
  async get(username: string): Promise<Account> {
    const account = await this.findByUsername(username);
    if (!account) throw new NotFoundError(`user ${canonicalUsername(username)}`);
    return account;
  }

  async list(): Promise<Account[]> {
    const rows = await this.#store.list(ACCOUNT, { limit: 100_000 });
    return rows.map((r) => r.payload as unknown as Account).sort((a, b) => a.username.localeCompare(b.username));
  }

  async update(account: Account, changes: Partial<Omit<Account, 'id' | 'username' | 'createdAt'>>): Promise<Account> {
    const next = { ...account, ...changes };
    await this.#store.upsert(ACCOUNT, account.id, { ...next });
    return next;
  }

  async setPassword(username: string, password: string): Promise<Account> {
    checkPassword(password);
    const account = await this.get(username);
    if (account.upstream) throw new UsageError(`${account.username} signs in through connector ${account.upstream.connector} and has no password here`);
    return this.update(account, { passwordHash: await hashPassword(password) });
  }

  async remove(username: string): Promise<void> {
    const account = await this.get(username);
    await this.#store.destroy(ACCOUNT, account.id);
    await this.#store.destroy(ACCOUNT_NAME, account.username);
    if (account.upstream) await this.#store.destroy(ACCOUNT_LINK, linkKey(account.upstream.issuer, account.upstream.subject));
  }
}
