import { run } from './program.ts';

const status = await run(process.argv.slice(2));
// `serve` keeps running on its listeners; everything else exits with its status.
if (status !== 0) process.exit(status);
process.exitCode = status;
