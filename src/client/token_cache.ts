import { createHash, randomBytes } from 'node:crypto';
import { chmod, mkdir, open, readFile, readdir, rename, rm, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';

/** Where and as which client a person logs in: kept after the tokens are gone, so `gatehouse login` can log in again. */
export interface Profile {
  issuer: string;
  client_id: string;
  /** The scope asked for at the last login. */
  scope?: string;
}

/** Who signed in, from the ID token (only the claims the granted scopes released). */
export interface SignedInAccount {
  sub: string;
  name?: string;
  preferred_username?: string;
  email?: string;
}

/** What one login leaves behind, per issuer and client. */
export interface CachedSession extends Profile {
  /** The scope the server granted (space-separated). */
  scope?: string;
  /** The scope the person asked for at login, for the next login. */
  requested_scope?: string;
  account?: SignedInAccount;
  token_type: string;
  access_token: string;
  refresh_token?: string;
  id_token?: string;
  /** Seconds since the epoch; absent when the server did not say. */
  expires_at?: number;
  /** Seconds since the epoch of the last token response. */
  obtained_at: number;
}

/**
 * `$XDG_CONFIG_HOME/gatehouse`, or `~/.config/gatehouse` (the XDG base directory rules: a relative
 * XDG_CONFIG_HOME is ignored).
 */
export function defaultConfigDir(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_CONFIG_HOME;
  return xdg && isAbsolute(xdg) ? join(xdg, 'gatehouse') : join(homedir(), '.config', 'gatehouse');
}

/** Token files (0600) in `<configDir>/tokens` (0700), one per issuer + client_id. */
export class TokenCache {
  readonly dir: string;
  constructor(configDir: string = defaultConfigDir()) {
    this.dir = join(configDir, 'tokens');
  }

  /** The file that holds the session for this issuer and client. */
  pathFor(issuer: string, clientId: string): string {
    const key = createHash('sha256').update(`${issuer}\n${clientId}`).digest('hex').slice(0, 32);
    return join(this.dir, `${key}.json`);
  }

  async read(issuer: string, clientId: string): Promise<CachedSession | undefined> {
    let text: string;
    try {
      text = await readFile(this.pathFor(issuer, clientId), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    try {
      const parsed = JSON.parse(text) as CachedSession;
      return typeof parsed.access_token === 'string' ? parsed : undefined;
    } catch {
      return undefined;
    }
  }

  /** Replaces the session atomically (write a private temp file, then rename). */
  async write(session: CachedSession): Promise<string> {
    return this.#writeJson(this.pathFor(session.issuer, session.client_id), session);
  }

  async #writeJson(path: string, value: object): Promise<string> {
    await this.ensureDir();
    const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
    const fh = await open(tmp, 'wx', 0o600);
    try {
      await fh.writeFile(`${JSON.stringify(value, null, 2)}\n`);
      await fh.chmod(0o600);
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
    return path;
  }

  async remove(issuer: string, clientId: string): Promise<void> {
    await rm(this.pathFor(issuer, clientId), { force: true });
  }

  /** Drops the tokens but keeps the profile (issuer, client, scope), so a later login needs no flags. */
  async forget(session: CachedSession): Promise<void> {
    const profile: Profile = { issuer: session.issuer, client_id: session.client_id, scope: session.requested_scope ?? session.scope };
    await this.#writeJson(this.pathFor(session.issuer, session.client_id), profile);
  }

  /** Every cached session with tokens (for `token`/`logout`/`status` without --issuer/--client-id). */
  async list(): Promise<CachedSession[]> {
    return (await this.#entries()).filter((e): e is CachedSession => typeof (e as CachedSession).access_token === 'string');
  }

  /** Every remembered profile, logged in or not (for `login` without flags). */
  async profiles(): Promise<Profile[]> {
    return (await this.#entries()).map((e) => ({ issuer: e.issuer, client_id: e.client_id, scope: (e as CachedSession).requested_scope ?? e.scope }));
  }

  async #entries(): Promise<Array<Profile | CachedSession>> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch {
      return [];
    }
    const out: Array<Profile | CachedSession> = [];
    for (const name of names.filter((n) => n.endsWith('.json'))) {
      try {
        const s = JSON.parse(await readFile(join(this.dir, name), 'utf8')) as Profile;
        if (typeof s.issuer === 'string' && typeof s.client_id === 'string') out.push(s);
      } catch {
        // A damaged file is not a session.
      }
    }
    return out;
  }

  /**
   * Runs `fn` holding an exclusive lock for this issuer and client, so two processes never
   * redeem the same rotating refresh token (the second would revoke the whole grant).
   */
  async locked<T>(issuer: string, clientId: string, fn: () => Promise<T>): Promise<T> {
    await this.ensureDir();
    const lock = `${this.pathFor(issuer, clientId)}.lock`;
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        const fh = await open(lock, 'wx', 0o600);
        await fh.close();
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        const age = await stat(lock).then((s) => Date.now() - s.mtimeMs, () => 0);
        if (age > 60_000) await rm(lock, { force: true });
        else if (Date.now() > deadline) throw new Error(`another gatehouse process holds ${lock}`);
        else await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    try {
      return await fn();
    } finally {
      await rm(lock, { force: true });
    }
  }

  private async ensureDir(): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    await chmod(join(this.dir, '..'), 0o700);
    await chmod(this.dir, 0o700);
  }
}
