import { LoginError } from '../client/errors.ts';
import { ConfigError, GatehouseError, UsageError } from '../shared/errors.ts';

/** Exit statuses every `gatehouse` command uses. */
export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;

/** Prints an error the way a person at a terminal wants it and returns the exit status. */
export function reportError(err: unknown): number {
  if (err instanceof ConfigError) {
    process.stderr.write(`gatehouse: invalid configuration:\n${err.problems.map((p) => `  ${p}`).join('\n')}\n`);
    return EXIT.usage;
  }
  if (err instanceof UsageError) {
    process.stderr.write(`gatehouse: ${err.message}\n`);
    return EXIT.usage;
  }
  if (err instanceof LoginError) {
    process.stderr.write(`gatehouse: ${err.message} (${err.code})\n`);
    return err.usage ? EXIT.usage : EXIT.failure;
  }
  if (err instanceof GatehouseError) {
    process.stderr.write(`gatehouse: ${err.message} (${err.code})\n`);
    return EXIT.failure;
  }
  const e = err as NodeJS.ErrnoException & { address?: string; port?: number; setting?: string };
  if (e?.code === 'EADDRINUSE' || e?.code === 'EACCES') {
    if (!e.setting) {
      process.stderr.write(`gatehouse: cannot listen: ${e.message}\n`);
      return EXIT.failure;
    }
    const why = e.code === 'EADDRINUSE' ? 'the address is already in use (another Gatehouse?)' : 'permission denied (ports below 1024 need privileges)';
    process.stderr.write(`gatehouse: cannot listen on ${e.address ?? '?'}:${e.port ?? '?'} (${e.setting}): ${why}; set ${e.setting} to a free port (0 picks one)\n`);
    return EXIT.failure;
  }
  process.stderr.write(`gatehouse: unexpected error: ${e?.stack ?? String(err)}\n`);
  return EXIT.failure;
}
