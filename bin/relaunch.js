// Runs the CLI under another Node.js binary (the one the project pins) as a child process and
// stands in for it: signals sent to this process (SIGTERM from `kill` or a process manager,
// SIGINT, SIGHUP) are passed on, so `gatehouse serve` drains and stops instead of living on as
// an orphan, and this process ends as the child did (same exit status, or the same signal).
import { spawn } from 'node:child_process';

const FORWARDED = ['SIGTERM', 'SIGINT', 'SIGHUP'];

/**
 * Starts `node` with `args`, stdio inherited, and exits this process when it ends.
 * @param {string} node path of the Node.js binary
 * @param {string[]} args script and its arguments
 */
export function relaunch(node, args) {
  const child = spawn(node, args, { stdio: 'inherit' });
  const forward = (signal) => child.kill(signal);
  for (const signal of FORWARDED) process.on(signal, forward);
  child.on('error', (err) => {
    process.stderr.write(`gatehouse: could not start ${node}: ${err.message}\n`);
    process.exit(1);
  });
  child.on('exit', (code, signal) => {
    for (const s of FORWARDED) process.off(s, forward);
    if (signal) process.kill(process.pid, signal);
    else process.exit(code ?? 1);
  });
}
