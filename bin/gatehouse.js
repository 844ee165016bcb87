#!/usr/bin/env node
// The `gatehouse` command. The code is TypeScript run by Node 24's type stripping; when an older
// node is first on PATH (npx outside npm scripts, a machine with Node 20), re-run under the
// Node 24 that the project pins in node_modules.
import { existsSync } from 'node:fs';
import { enableCompileCache } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { relaunch } from './relaunch.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  const pinned = join(root, 'node_modules', 'node', 'bin', 'node');
  if (!existsSync(pinned)) {
    process.stderr.write(`gatehouse: Node.js 24 is required (found ${process.version}); run \`npm ci\` in ${root}\n`);
    process.exit(1);
  }
  relaunch(pinned, [join(root, 'src', 'cli', 'main.ts'), ...process.argv.slice(2)]);
} else {
  // Before the first .ts file: a start whose modules are all in the compile cache never loads
  // amaro (the type stripper) at all. The same directory as src/cli/main.ts uses (see the reason there).
  enableCompileCache(join(root, 'node_modules', '.cache', 'gatehouse-compile'));
  await import('../src/cli/main.ts');
}
