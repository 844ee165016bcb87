// Preloaded into each benchmarked server (`--import`): measures event-loop delay and the process's
// CPU time (and its resident memory), and prints them as one JSON line on stderr when the server gets SIGUSR2, then starts
// afresh. CPU per request is the figure least disturbed by other work on a shared machine.
import { monitorEventLoopDelay } from 'node:perf_hooks';

let h = monitorEventLoopDelay({ resolution: 10 });
let cpu = process.cpuUsage();
h.enable();
process.on('SIGUSR2', () => {
  h.disable();
  const used = process.cpuUsage(cpu);
  const ms = (ns: number) => Math.round((ns / 1e6) * 100) / 100;
  process.stderr.write(`${JSON.stringify({ eventLoopDelay: { p50: ms(h.percentile(50)), p99: ms(h.percentile(99)), max: ms(h.max), cpuMicros: used.user + used.system, rssMB: Math.round(process.memoryUsage.rss() / 1048576) } })}\n`);
  h = monitorEventLoopDelay({ resolution: 10 });
  cpu = process.cpuUsage();
  h.enable();
});
