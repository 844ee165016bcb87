import { enableCompileCache, flushCompileCache } from 'node:module';
import { join } from 'node:path';

// Node's compile cache keeps the type-stripped output (and V8's code cache) of every module loaded
// from here on. Without it every start strips ~150 .ts files through amaro (swc compiled to
// WebAssembly), whose optimising tier-up leaves ~13 MB of freed compiler memory in the process's
// malloc arenas for good; started through bin/gatehouse.js with a warm cache, amaro (~16 MB more)
// is never loaded at all (bench/README.md, "Resident memory"). The cache lives next to the
// dependencies, so whoever can write it can already change the code it caches (a shared /tmp
// would not be); where it cannot be written the cache is quietly off. NODE_DISABLE_COMPILE_CACHE=1
// turns it off.
enableCompileCache(join(import.meta.dirname, '..', '..', 'node_modules', '.cache', 'gatehouse-compile'));

const { run } = await import('./program.ts');
const status = await run(process.argv.slice(2));
// `serve` is listening by now and may be stopped by a signal: write the cache while all is loaded.
flushCompileCache();
// `serve` keeps running on its listeners; everything else exits with its status.
if (status !== 0) process.exit(status);
process.exitCode = status;
