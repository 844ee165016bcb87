import type { Command } from 'commander';
import { type CachedSession, LoginError, loginCommand, TokenCache } from '../../client/index.ts';
import { expiry, safe, type SessionFlags, sessionFlags, target, who } from './session_flags.ts';

function describe(session: CachedSession, cache: TokenCache): string {
  return [
    `${session.issuer} (client ${session.client_id})`,
    `  Logged in as: ${who(session.account) ?? '(the ID token named no one)'}${session.account ? ` (sub ${safe(session.account.sub)})` : ''}`,
    `  Scopes: ${safe(session.scope ?? '(not stated by the server)')}`,
    `  Access token: ${expiry(session)}`,
    `  Refresh token: ${session.refresh_token ? 'yes' : 'no (log in with offline_access to refresh)'}`,
    `  Cache: ${cache.pathFor(session.issuer, session.client_id)}`,
  ].join('\n');
}

/** The cached sessions `status` shows: the one named by the flags, else all; ERR_NOT_LOGGED_IN when none. */
async function cachedSessions(flags: SessionFlags, cache: TokenCache): Promise<CachedSession[]> {
  if (flags.issuer || flags.clientId) {
    const { issuer, clientId } = await target(flags, cache);
    const one = (await cache.list()).find((s) => s.issuer === issuer.replace(/\/$/, '') && s.client_id === clientId);
    if (!one) throw new LoginError('ERR_NOT_LOGGED_IN', `not logged in to ${issuer} as ${clientId}; run \`${loginCommand({ issuer, client_id: clientId })}\``);
    return [one];
  }
  const sessions = await cache.list();
  if (!sessions.length) await target(flags, cache);
  return sessions;
}

/**
 * `gatehouse status`: who is logged in where, as which client, until when, with which scopes
 * (from the cache; nothing is sent). Exit 1 when not logged in.
 */
export function registerStatus(program: Command): void {
  sessionFlags(program.command('status').description('show who is logged in, to which issuer and client, until when, with which scopes'))
    .option('--json', 'print the sessions as JSON (no tokens)')
    .action(async (flags: SessionFlags & { json?: boolean }) => {
      const cache = new TokenCache();
      let sessions: CachedSession[];
      try {
        sessions = await cachedSessions(flags, cache);
      } catch (err) {
        // Scripts still get JSON to parse: no sessions (and exit 1, the reason on stderr).
        if (flags.json && err instanceof LoginError && err.code === 'ERR_NOT_LOGGED_IN') process.stdout.write('[]\n');
        throw err;
      }
      if (flags.json) {
        const shown = sessions.map(({ issuer, client_id, scope, account, expires_at, refresh_token }) => ({ issuer, client_id, scope, account, expires_at, refresh_token: Boolean(refresh_token), cache: cache.pathFor(issuer, client_id) }));
        process.stdout.write(`${JSON.stringify(shown, null, 2)}\n`);
        return;
      }
      process.stdout.write(`${sessions.map((s) => describe(s, cache)).join('\n\n')}\n`);
    });
}
