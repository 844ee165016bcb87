import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { loadConfig } from '../../config/load.ts';
import { SIGNING_ALGS, type SigningAlg } from '../../keys/key_algorithms.ts';
import { keyState, readKeyFile, writeKeyFile } from '../../keys/key_file.ts';
import { addKey, prune, rotate } from '../../keys/rotation.ts';
import { UsageError } from '../../shared/errors.ts';
import { duration } from '../../config/setting.ts';

function keysFile(file: string | undefined): string {
  const config = loadConfig();
  const path = file ?? config.jwksFile ?? join(config.dataDir, 'jwks.json');
  if (!existsSync(path)) throw new UsageError(`no keys file at ${path}; start the server once in development or pass --file`);
  return path;
}

function seconds(value: string, flag: string): number {
  const parsed = duration(0).safeParse(value);
  if (!parsed.success) throw new UsageError(`${flag}: must be a duration like 0, 90s, 10m, 1h or 14d`);
  return parsed.data;
}

const iso = (t: number | undefined) => (t === undefined ? '-' : new Date(t * 1000).toISOString());

/**
 * `gatehouse keys list|add|rotate|prune`: signing key rotation on the keys file every replica reads
 * (GATEHOUSE_JWKS_FILE, or the generated one in the data dir). Running servers pick changes up
 * from the file without a restart.
 */
export function registerKeys(program: Command): void {
  const keys = program.command('keys').description('list, add, rotate and prune signing keys');

  keys
    .command('list')
    .description('show every signing key with its state (next, active, retired)')
    .option('--file <path>', 'keys file (default: GATEHOUSE_JWKS_FILE or <data dir>/jwks.json)')
    .option('--json', 'machine-readable output')
    .action((opts: { file?: string; json?: boolean }) => {
      const stored = readKeyFile(keysFile(opts.file));
      // `alg` stays the RFC 7518 name, or null for a key without one, which signs whatever its type allows.
      const rows = stored.map((k) => ({ kid: k.kid, alg: k.alg ?? null, kty: k.kty, crv: (k as { crv?: string }).crv ?? null, state: keyState(k), activates: iso(k.gh_activate_at), retires: iso(k.gh_retire_at) }));
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
        return;
      }
      // A key without `alg` is shown as its type (and curve).
      for (const r of rows) process.stdout.write(`${r.kid}  ${(r.alg ?? [r.kty, r.crv].filter(Boolean).join(' ')).padEnd(5)}  ${r.state.padEnd(7)}  activates ${r.activates}  retires ${r.retires}\n`);
    });

  keys
    .command('add <alg>')
    .description(`add a key for another algorithm (${SIGNING_ALGS.join(', ')}), say a resource server's signingAlg: published now, signing after the activation delay`)
    .option('--file <path>', 'keys file (default: GATEHOUSE_JWKS_FILE or <data dir>/jwks.json)')
    .option('--activate-in <duration>', 'publish-before-sign delay (default: GATEHOUSE_KEY_ACTIVATION_DELAY)')
    .action(async (alg: string, opts: { file?: string; activateIn?: string }) => {
      if (!(SIGNING_ALGS as readonly string[]).includes(alg)) throw new UsageError(`<alg>: must be one of ${SIGNING_ALGS.join(', ')}`);
      const path = keysFile(opts.file);
      const delay = opts.activateIn !== undefined ? seconds(opts.activateIn, '--activate-in') : loadConfig().keyActivationDelay;
      const result = await addKey(readKeyFile(path), alg as SigningAlg, delay);
      writeKeyFile(path, result.keys);
      process.stdout.write(`added ${result.added} (${alg}); it signs from ${iso(Math.floor(Date.now() / 1000) + delay)}\n`);
    });

  keys
    .command('rotate')
    .description('add a successor for every active key (same type, curve and algorithm): published now, signing after the activation delay; current keys retire then')
    .option('--file <path>', 'keys file (default: GATEHOUSE_JWKS_FILE or <data dir>/jwks.json)')
    .option('--activate-in <duration>', 'publish-before-sign delay (default: GATEHOUSE_KEY_ACTIVATION_DELAY)')
    .action(async (opts: { file?: string; activateIn?: string }) => {
      const path = keysFile(opts.file);
      const delay = opts.activateIn !== undefined ? seconds(opts.activateIn, '--activate-in') : loadConfig().keyActivationDelay;
      const result = await rotate(readKeyFile(path), delay);
      writeKeyFile(path, result.keys);
      process.stdout.write(`added ${result.added.join(', ')}; they sign from ${iso(Math.floor(Date.now() / 1000) + delay)}\n`);
    });

  keys
    .command('prune')
    .description('remove keys retired for longer than the grace period')
    .option('--file <path>', 'keys file (default: GATEHOUSE_JWKS_FILE or <data dir>/jwks.json)')
    .option('--grace <duration>', 'how long retired keys keep verifying (default: GATEHOUSE_KEY_RETIREMENT_GRACE)')
    .action((opts: { file?: string; grace?: string }) => {
      const path = keysFile(opts.file);
      const grace = opts.grace !== undefined ? seconds(opts.grace, '--grace') : loadConfig().keyRetirementGrace;
      const result = prune(readKeyFile(path), grace);
      writeKeyFile(path, result.keys);
      process.stdout.write(result.removed.length ? `removed ${result.removed.join(', ')}\n` : 'nothing to prune\n');
    });
}
