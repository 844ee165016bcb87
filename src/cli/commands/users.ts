import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { type Command, Option } from 'commander';
import QRCode from 'qrcode';
import { type Account, Accounts } from '../../accounts/account.ts';
import { newTotp } from '../../accounts/totp.ts';
import { UsageError } from '../../shared/errors.ts';
import type { Store } from '../../storage/adapter.ts';
import { withStore } from '../store.ts';

async function withAccounts<T>(fn: (accounts: Accounts, store: Store, productName: string) => Promise<T>): Promise<T> {
  return withStore((store, config) => fn(new Accounts(store), store, config.productName));
}

/** Standard input as UTF-8 text, without its final line break. @throws UsageError for bytes that are not UTF-8 */
async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(chunks));
  } catch {
    throw new UsageError('the password on standard input is not valid UTF-8');
  }
  return text.replace(/\r?\n$/, '');
}

/** Asks on the terminal without echoing what is typed. */
async function prompt(question: string): Promise<string> {
  let muted = false;
  const output = new Writable({
    write(chunk, _enc, cb) {
      if (!muted) process.stderr.write(chunk);
      cb();
    },
  });
  const rl = createInterface({ input: process.stdin, output, terminal: true });
  try {
    return await new Promise<string>((resolve) => {
      rl.question(question, resolve);
      muted = true;
    });
  } finally {
    rl.close();
    process.stderr.write('\n');
  }
}

/** The new password: from stdin with --password-stdin, otherwise typed twice at a terminal. */
async function newPassword(fromStdin: boolean | undefined): Promise<string> {
  if (fromStdin) return readStdin();
  if (!process.stdin.isTTY) throw new UsageError('no terminal to ask for the password on; pipe it in with --password-stdin');
  const first = await prompt('New password: ');
  const second = await prompt('Repeat password: ');
  if (first !== second) throw new UsageError('the passwords do not match');
  return first;
}

function parseId(name: string) {
  return (v: string) => {
    if (!/^\d+$/.test(v)) throw new UsageError(`--${name} must be a whole number, got "${v}"`);
    return Number(v);
  };
}

function row(a: Account): string[] {
  return [a.username, a.upstream ? `connector:${a.upstream.connector}` : 'local', a.name ?? '', a.email ?? '', a.groups.join(','), a.uidNumber?.toString() ?? '', a.gidNumber?.toString() ?? '', a.totpSecret ? 'yes' : 'no', a.disabled ? 'disabled' : 'active', a.id];
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n') + '\n';
}

/** `gatehouse users …`: local accounts in the configured store. */
export function registerUsers(program: Command): void {
  const users = program.command('users').description('manage user accounts in the configured store: local ones, and those made at a first sign-in through a connector');

  users
    .command('add <username>')
    .description('create a user; the password is asked for, or read from stdin with --password-stdin')
    .option('--email <address>', 'email address')
    .option('--email-verified', 'mark the email address as verified')
    .option('--name <display name>', 'display name')
    .option('--groups <a,b>', 'comma-separated groups', (v: string) => v.split(',').map((g) => g.trim()).filter(Boolean))
    .addOption(new Option('--uid <N>', 'POSIX uid number (with --gid)').argParser(parseId('uid')))
    .addOption(new Option('--gid <N>', 'POSIX gid number (with --uid)').argParser(parseId('gid')))
    .option('--password-stdin', 'read the password from standard input')
    .action(async (username: string, opts: { email?: string; emailVerified?: boolean; name?: string; groups?: string[]; uid?: number; gid?: number; passwordStdin?: boolean }) => {
      await withAccounts(async (accounts) => {
        const password = await newPassword(opts.passwordStdin);
        const account = await accounts.create({
          username,
          password,
          email: opts.email,
          emailVerified: opts.emailVerified,
          name: opts.name,
          groups: opts.groups,
          uidNumber: opts.uid,
          gidNumber: opts.gid,
        });
        process.stdout.write(`created user ${account.username} (sub ${account.id})\n`);
      });
    });

  users
    .command('list')
    .description('list users')
    .option('--json', 'print JSON instead of a table (never includes password hashes or TOTP secrets)')
    .action(async (opts: { json?: boolean }) => {
      await withAccounts(async (accounts) => {
        const all = await accounts.list();
        if (opts.json) {
          const safe = all.map(({ passwordHash: _p, totpSecret, ...rest }) => ({ ...rest, totp: Boolean(totpSecret) }));
          process.stdout.write(`${JSON.stringify(safe, null, 2)}\n`);
        } else if (all.length === 0) {
          process.stdout.write('no users\n');
        } else {
          process.stdout.write(table([['USERNAME', 'SOURCE', 'NAME', 'EMAIL', 'GROUPS', 'UID', 'GID', 'TOTP', 'STATUS', 'SUB'], ...all.map(row)]));
        }
      });
    });

  users
    .command('passwd <username>')
    .description("set a user's password")
    .option('--password-stdin', 'read the password from standard input')
    .action(async (username: string, opts: { passwordStdin?: boolean }) => {
      await withAccounts(async (accounts) => {
        await accounts.get(username);
        const account = await accounts.setPassword(username, await newPassword(opts.passwordStdin));
        process.stdout.write(`password changed for ${account.username}\n`);
      });
    });

  for (const [verb, disabled] of [['disable', true], ['enable', false]] as const) {
    users
      .command(`${verb} <username>`)
      .description(disabled ? 'stop a user from signing in (tokens stop refreshing)' : 'allow a disabled user to sign in again')
      .action(async (username: string) => {
        await withAccounts(async (accounts) => {
          const account = await accounts.update(await accounts.get(username), { disabled });
          process.stdout.write(`${account.username} ${disabled ? 'disabled' : 'enabled'}\n`);
        });
      });
  }

  users
    .command('remove <username>')
    .description('delete a user')
    .action(async (username: string) => {
      await withAccounts(async (accounts) => {
        await accounts.remove(username);
        process.stdout.write(`removed user ${username.toLowerCase()}\n`);
      });
    });

  const totp = users.command('totp').description('TOTP second factor');
  totp
    .command('enroll <username>')
    .description('create a new TOTP secret (replacing any old one); prints the otpauth URI and a QR code')
    .action(async (username: string) => {
      await withAccounts(async (accounts, _store, productName) => {
        const account = await accounts.get(username);
        const enrollment = newTotp(productName, account.username);
        await accounts.update(account, { totpSecret: enrollment.secret });
        const qr = await QRCode.toString(enrollment.uri, { type: 'terminal', small: true });
        process.stdout.write(`Scan this with an authenticator app, or enter the URI by hand:\n\n${qr}\n${enrollment.uri}\n`);
      });
    });
  totp
    .command('remove <username>')
    .description("remove a user's TOTP second factor")
    .action(async (username: string) => {
      await withAccounts(async (accounts) => {
        const account = await accounts.get(username);
        await accounts.update(account, { totpSecret: undefined });
        process.stdout.write(`TOTP removed for ${account.username}\n`);
      });
    });
}
