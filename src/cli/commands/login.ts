import type { Command } from 'commander';
import QRCode from 'qrcode';
import { accessToken, type CachedSession, LoginError, loginWithBrowser, loginWithDevice, logout, openBrowser, TokenCache } from '../../client/index.ts';
import { UsageError } from '../../shared/errors.ts';

interface SessionFlags {
  issuer?: string;
  clientId?: string;
}

interface LoginFlags extends SessionFlags {
  device?: boolean;
  browser?: boolean;
  scope?: string;
  /** false with `--no-open` (commander's negation). */
  open: boolean;
}

function err(text: string): void {
  process.stderr.write(`${text}\n`);
}

/** Strips terminal control characters from server-supplied text before it reaches a terminal. */
function safe(text: string): string {
  return text.replace(/\p{Cc}/gu, '?');
}

/** --issuer/--client-id, or the only session in the cache when both are left out. */
async function target(flags: SessionFlags, cache: TokenCache): Promise<{ issuer: string; clientId: string }> {
  if (flags.issuer && flags.clientId) return { issuer: flags.issuer, clientId: flags.clientId };
  if (flags.issuer || flags.clientId) throw new UsageError('give both --issuer and --client-id, or neither to use the only cached login');
  const sessions = await cache.list();
  if (sessions.length === 1) return { issuer: sessions[0]!.issuer, clientId: sessions[0]!.client_id };
  if (!sessions.length) throw new LoginError('ERR_NOT_LOGGED_IN', 'not logged in; run `gatehouse login --issuer URL --client-id ID`');
  const names = sessions.map((s) => `  --issuer ${s.issuer} --client-id ${s.client_id}`).join('\n');
  throw new UsageError(`several logins are cached; choose one:\n${names}`);
}

function loggedIn(session: CachedSession, cache: TokenCache): void {
  const expiry = session.expires_at ? ` (access token valid until ${new Date(session.expires_at * 1000).toISOString()})` : '';
  err(`Logged in to ${session.issuer} as client ${session.client_id}${expiry}.`);
  err(`Tokens cached in ${cache.pathFor(session.issuer, session.client_id)}`);
}

function sessionFlags(cmd: Command): Command {
  return cmd.option('--issuer <url>', 'the issuer URL (https; http only on a loopback address)').option('--client-id <id>', 'the public client registered for this CLI');
}

/** `gatehouse login`, `gatehouse token`, `gatehouse logout`: a reference OAuth client for CLIs. */
export function registerLogin(program: Command): void {
  sessionFlags(program.command('login').description('log in to a Gatehouse (or any OpenID Provider) and cache the tokens'))
    .option('--device', 'device flow: show a URL, code and QR code to approve on any device (the default)')
    .option('--browser', 'authorization code + PKCE: open a browser here and receive the answer on a random 127.0.0.1 port')
    .option('--scope <scopes>', 'space-separated scopes', 'openid offline_access')
    .option('--no-open', 'never try to open a browser (xdg-open/open/start); only print the URL')
    .addHelpText('after', '\nEnvironment: XDG_CONFIG_HOME (token cache in $XDG_CONFIG_HOME/gatehouse, else ~/.config/gatehouse).')
    .action(async (flags: LoginFlags) => {
      if (!flags.issuer || !flags.clientId) throw new UsageError('login needs --issuer and --client-id');
      if (flags.device && flags.browser) throw new UsageError('choose one of --device and --browser');
      const cache = new TokenCache();
      const controller = new AbortController();
      const stop = () => controller.abort();
      process.once('SIGINT', stop);
      try {
        const common = { issuer: flags.issuer, clientId: flags.clientId, scope: flags.scope, cache, signal: controller.signal };
        const session = flags.browser
          ? await loginWithBrowser({
              ...common,
              onAuthorizationUrl(url) {
                err('Open this URL in your browser to sign in:');
                err(`  ${url}`);
                if (flags.open) openBrowser(url);
                err('Waiting for the sign-in to finish…');
              },
            })
          : await loginWithDevice({
              ...common,
              async onPrompt(p) {
                const complete = p.verificationUriComplete ?? p.verificationUri;
                err(`To sign in, open ${safe(p.verificationUri)} and enter the code ${safe(p.userCode)}`);
                err(`or open ${safe(complete)}`);
                err('or scan:');
                err(await QRCode.toString(complete, { type: 'terminal', small: true }));
                if (flags.open) openBrowser(complete);
                err(`Waiting for approval (the code expires in ${Math.round(p.expiresIn / 60)} minutes)…`);
              },
            });
        loggedIn(session, cache);
      } finally {
        process.off('SIGINT', stop);
      }
    });

  sessionFlags(program.command('token').description('print a valid access token, refreshing it when needed: curl -H "Authorization: Bearer $(gatehouse token)"')).action(
    async (flags: SessionFlags) => {
      const cache = new TokenCache();
      const { issuer, clientId } = await target(flags, cache);
      process.stdout.write(`${await accessToken({ issuer, clientId, cache })}\n`);
    },
  );

  sessionFlags(program.command('logout').description('revoke the cached tokens at the issuer and forget them')).action(async (flags: SessionFlags) => {
    const cache = new TokenCache();
    const { issuer, clientId } = await target(flags, cache);
    const had = await logout({ issuer, clientId, cache });
    err(had ? `Logged out of ${issuer} (tokens revoked and removed).` : `Not logged in to ${issuer} as ${clientId}.`);
  });
}
