import type { Command } from 'commander';
import { type CachedSession, LoginError, loginCommand, type SignedInAccount, TokenCache } from '../../client/index.ts';
import { UsageError } from '../../shared/errors.ts';

/** --issuer and --client-id, shared by login, token, logout and status. */
export interface SessionFlags {
  issuer?: string;
  clientId?: string;
}

export function sessionFlags(cmd: Command): Command {
  return cmd.option('--issuer <url>', 'the issuer URL (https; http only on a loopback address)').option('--client-id <id>', 'the public client registered for this CLI');
}

/** A line for the person at the terminal (stdout stays for what scripts read). */
export function say(text: string): void {
  process.stderr.write(`${text}\n`);
}

/** Strips terminal control characters from server-supplied text before it reaches a terminal. */
export function safe(text: string): string {
  return text.replace(/\p{Cc}/gu, '?');
}

/** `alice <alice@example.com>`, from what the ID token released; the `sub` when nothing else was. */
export function who(account: SignedInAccount | undefined): string | undefined {
  if (!account) return undefined;
  const name = account.preferred_username ?? account.name ?? account.sub;
  return safe(account.email ? `${name} <${account.email}>` : name);
}

/** --issuer/--client-id, or the only logged-in session in the cache when both are left out. */
export async function target(flags: SessionFlags, cache: TokenCache): Promise<{ issuer: string; clientId: string }> {
  if (flags.issuer && flags.clientId) return { issuer: flags.issuer, clientId: flags.clientId };
  if (flags.issuer || flags.clientId) throw new UsageError('give both --issuer and --client-id, or neither to use the only cached login');
  const sessions = await cache.list();
  if (sessions.length === 1) return { issuer: sessions[0]!.issuer, clientId: sessions[0]!.client_id };
  if (!sessions.length) {
    const profiles = await cache.profiles();
    const hint = profiles.length === 1
      ? `run \`gatehouse login\` (${loginCommand(profiles[0]!)})`
      : profiles.length ? `run one of:\n${profiles.map((p) => `  ${loginCommand(p)}`).join('\n')}\n` : 'run `gatehouse login --issuer URL --client-id ID`';
    throw new LoginError('ERR_NOT_LOGGED_IN', `not logged in; ${hint}`);
  }
  const names = sessions.map((s) => `  --issuer ${s.issuer} --client-id ${s.client_id}`).join('\n');
  throw new UsageError(`several logins are cached; choose one:\n${names}`);
}

/** When the cached access token stops being valid, for people. */
export function expiry(session: CachedSession, now = Date.now() / 1000): string {
  if (session.expires_at === undefined) return 'no expiry given by the server';
  const when = new Date(session.expires_at * 1000).toISOString();
  const left = session.expires_at - now;
  if (left <= 0) return `expired at ${when}${session.refresh_token ? ' (the refresh token renews it on the next `gatehouse token`)' : ''}`;
  return `valid until ${when} (${left < 120 ? `${Math.round(left)} s` : `${Math.round(left / 60)} min`} left)`;
}
