import type { Command } from 'commander';
import QRCode from 'qrcode';
import { accessToken, DEFAULT_SCOPE, type LoginResult, loginCommand, loginWithBrowser, loginWithDevice, logout, openBrowser, TokenCache } from '../../client/index.ts';
import { UsageError } from '../../shared/errors.ts';
import { expiry, safe, say, type SessionFlags, sessionFlags, target, who } from './session_flags.ts';

interface LoginFlags extends SessionFlags {
  device?: boolean;
  browser?: boolean;
  scope?: string;
  /** false with `--no-open` (commander's negation). */
  open: boolean;
}

/** Colours and cursor codes only for a terminal that wants them (https://no-color.org). */
function colourful(stream: NodeJS.WriteStream): boolean {
  return Boolean(stream.isTTY) && !process.env.NO_COLOR && process.env.TERM !== 'dumb';
}

/** --issuer/--client-id/--scope, or the only remembered profile when the flags are left out. */
async function loginTarget(flags: LoginFlags, cache: TokenCache): Promise<{ issuer: string; clientId: string; scope: string }> {
  if (flags.issuer && flags.clientId) return { issuer: flags.issuer, clientId: flags.clientId, scope: flags.scope ?? DEFAULT_SCOPE };
  if (flags.issuer || flags.clientId) throw new UsageError('login needs --issuer and --client-id (or neither, to log in again as the last profile)');
  const profiles = await cache.profiles();
  const only = profiles.length === 1 ? profiles[0] : undefined;
  if (only) return { issuer: only.issuer, clientId: only.client_id, scope: flags.scope ?? only.scope ?? DEFAULT_SCOPE };
  if (!profiles.length) throw new UsageError('login needs --issuer and --client-id');
  throw new UsageError(`several profiles are remembered; choose one:\n${profiles.map((p) => `  ${loginCommand(p)}`).join('\n')}`);
}

function loggedIn({ session, replaced }: LoginResult, cache: TokenCache): void {
  const person = who(session.account);
  say(`Logged in${person ? ` as ${person}` : ''} to ${session.issuer} as client ${session.client_id} (access token ${expiry(session)}).`);
  if (replaced === 'revoked') say('The previous login for this issuer and client was revoked at the issuer.');
  if (replaced === 'kept') say('The previous login for this issuer and client was replaced here, but its revocation could not be sent; it expires on its own.');
  say(`Tokens cached in ${cache.pathFor(session.issuer, session.client_id)}`);
}

/** `gatehouse login`, `gatehouse token`, `gatehouse logout`: a reference OAuth client for CLIs. */
export function registerLogin(program: Command): void {
  sessionFlags(program.command('login').description('log in to a Gatehouse (or any OpenID Provider) and cache the tokens; without flags, log in again as the last profile'))
    .option('--device', 'device flow: show a URL, code and QR code to approve on any device (the default)')
    .option('--browser', 'authorization code + PKCE: open a browser here and receive the answer on a random 127.0.0.1 port')
    .option('--scope <scopes>', `space-separated scopes (default "${DEFAULT_SCOPE}", or the profile's)`)
    .option('--no-open', 'never try to open a browser (xdg-open/open/start); only print the URL')
    .addHelpText('after', '\nEnvironment: XDG_CONFIG_HOME (token cache in $XDG_CONFIG_HOME/gatehouse, else ~/.config/gatehouse); NO_COLOR.')
    .action(async (flags: LoginFlags) => {
      if (flags.device && flags.browser) throw new UsageError('choose one of --device and --browser');
      const cache = new TokenCache();
      const { issuer, clientId, scope } = await loginTarget(flags, cache);
      const controller = new AbortController();
      const stop = () => controller.abort();
      process.once('SIGINT', stop);
      try {
        const common = { issuer, clientId, scope, cache, signal: controller.signal };
        const result = flags.browser
          ? await loginWithBrowser({
              ...common,
              onAuthorizationUrl(url) {
                say('Open this URL in your browser to sign in:');
                say(`  ${url}`);
                if (flags.open) openBrowser(url);
                say('Waiting for the sign-in to finish…');
              },
            })
          : await loginWithDevice({
              ...common,
              async onPrompt(p) {
                const complete = p.verificationUriComplete ?? p.verificationUri;
                say(`To sign in, open ${safe(p.verificationUri)} and enter the code ${safe(p.userCode)}`);
                say(`or open ${safe(complete)}`);
                say('or scan:');
                // Terminal colour codes would end up in a file or a CI log as garbage.
                say(await QRCode.toString(complete, colourful(process.stderr) ? { type: 'terminal', small: true } : { type: 'utf8' }));
                if (flags.open) openBrowser(complete);
                say(`Waiting for approval (the code expires in ${Math.round(p.expiresIn / 60)} minutes)…`);
              },
              onRetry({ reason, retryInMs }) {
                say(`The server did not answer (${safe(reason)}); trying again in ${Math.ceil(retryInMs / 1000)} s…`);
              },
            });
        loggedIn(result, cache);
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

  sessionFlags(program.command('logout').description('revoke the cached tokens at the issuer and forget them (here even when the issuer cannot be reached)'))
    .option('--local', 'only forget the tokens here; send no revocation')
    .action(async (flags: SessionFlags & { local?: boolean }) => {
      const cache = new TokenCache();
      const { issuer, clientId } = await target(flags, cache);
      const result = await logout({ issuer, clientId, cache, local: flags.local });
      if (!result.loggedIn) say(`Not logged in to ${issuer} as ${clientId}.`);
      else if (result.revoked) say(`Logged out of ${issuer} (tokens revoked and removed).`);
      else if (flags.local) say(`Logged out of ${issuer} here (tokens removed; nothing sent to the issuer, so they stay valid there until they expire).`);
      else say(`Logged out of ${issuer} here (tokens removed), but the revocation could not be sent: the issuer did not answer. The tokens stay valid there until they expire.`);
    });
}
