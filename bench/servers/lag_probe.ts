// Preloaded into each benchmarked server (`--import`): measures event-loop delay and prints it
// as one JSON line on stderr when the server gets SIGUSR2, then starts a fresh histogram.
import { monitorEventLoopDelay } from 'node:perf_hooks';

let h = monitorEventLoopDelay({ resolution: 10 });
h.enable();
process.on('SIGUSR2', () => {
  h.disable();
  const ms = (ns: number) => Math.round((ns / 1e6) * 100) / 100;
  process.stderr.write(`${JSON.stringify({ eventLoopDelay: { p50: ms(h.percentile(50)), p99: ms(h.percentile(99)), max: ms(h.max) } })}\n`);
  h = monitorEventLoopDelay({ resolution: 10 });
  h.enable();
});
