import type { Command } from 'commander';
import { duration, int } from '../../config/setting.ts';
import { NotFoundError, UsageError } from '../../shared/errors.ts';
import { cliAudit } from '../audit.ts';
import { withStore } from '../store.ts';
import { createRegistrationToken, listRegistrationTokens, revokeRegistrationToken } from '../../storage/registration_tokens.ts';

function parseOption<T>(schema: { safeParse(v: unknown): { success: true; data: T } | { success: false; error: { issues: Array<{ message: string }> } } }, name: string, value: string): T {
  const result = schema.safeParse(value);
  if (!result.success) throw new UsageError(`${name}: ${result.error.issues.map((i) => i.message).join('; ')} (got ${JSON.stringify(value)})`);
  return result.data;
}

/**
 * `gatehouse registration-token create`: an initial access token for dynamic client registration
 * when GATEHOUSE_REGISTRATION=token. The token goes to stdout once; only its hash is stored.
 */
export function registerRegistrationToken(program: Command): void {
  const cmd = program.command('registration-token').description('initial access tokens for dynamic client registration (RFC 7591)');
  cmd
    .command('create')
    .description('create an initial access token and print it once')
    .option('--ttl <duration>', 'how long the token is valid (e.g. 600, 90s, 10m, 1h, 14d)', '1h')
    .option('--uses <n>', 'how many registrations it allows (default: unlimited until it expires)')
    .action(async (opts: { ttl: string; uses?: string }) => {
      const ttlSeconds = parseOption(duration(1, 366 * 86400), '--ttl', opts.ttl);
      const uses = opts.uses === undefined ? undefined : parseOption(int(1, 1_000_000), '--uses', opts.uses);
      await withStore(async (store, config) => {
        const created = await createRegistrationToken(store, { ttlSeconds, uses });
        process.stdout.write(`${created.token}\n`);
        // The id is iat_ and the token's SHA-256: it names the token (for revoke) without revealing it.
        cliAudit().record('registration_token.created', { id: created.id, uses: created.uses ?? 'unlimited', expires_at: new Date(created.expiresAt * 1000).toISOString(), via: 'cli' });
        const limit = created.uses === null ? 'unlimited registrations' : `${created.uses} registration${created.uses === 1 ? '' : 's'}`;
        process.stderr.write(
          `Initial access token created (id ${created.id}): ${limit} until ${new Date(created.expiresAt * 1000).toISOString()}.\n` +
            `Send it as "Authorization: Bearer <token>" to ${config.issuer}/reg. It is not stored and will not be shown again.\n`,
        );
        if (config.registration !== 'token') {
          process.stderr.write(`Note: GATEHOUSE_REGISTRATION is ${config.registration}; the server only asks for this token when it is token.\n`);
        }
      });
    });

  cmd
    .command('list')
    .description('list live initial access tokens by id (the tokens themselves are not stored)')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      await withStore(async (store) => {
        const tokens = await listRegistrationTokens(store);
        if (opts.json) return void process.stdout.write(`${JSON.stringify(tokens, null, 2)}\n`);
        if (!tokens.length) return void process.stdout.write('no initial access tokens\n');
        for (const t of tokens) {
          process.stdout.write(`${t.id}  expires ${new Date(t.expiresAt * 1000).toISOString()}  ${t.uses === null ? 'unlimited' : `${t.uses} use${t.uses === 1 ? '' : 's'}`}\n`);
        }
      });
    });
  cmd
    .command('revoke <id>')
    .description('revoke an initial access token by the id printed when it was created')
    .action(async (id: string) => {
      await withStore(async (store) => {
        if (!(await revokeRegistrationToken(store, id))) throw new NotFoundError(`initial access token ${id}`);
        process.stderr.write(`revoked initial access token ${id}\n`);
      });
    });
}
