// `npm test`: installs the real programs the tests use (test/setup/tools.sh), type-checks, then runs
// every test file with node's test runner. Exits non-zero on any failure; no tier is skipped.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = join(import.meta.dirname, '..');
const args = process.argv.slice(2);

function step(name: string, cmd: string, argv: string[], env: NodeJS.ProcessEnv = process.env): void {
  console.log(`\n== ${name}`);
  const r = spawnSync(cmd, argv, { cwd: root, stdio: 'inherit', env });
  if (r.status !== 0) {
    console.error(`\n== ${name} failed (exit ${r.status ?? r.signal})`);
    process.exit(r.status || 1);
  }
}

function testFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return testFiles(path);
    return name.endsWith('.test.ts') ? [relative(root, path)] : [];
  });
}

const files = args.length ? args : testFiles(join(root, 'test')).sort();
step('tools', 'bash', [join(root, 'test/setup/tools.sh')]);
step('typecheck', process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '--noEmit', '-p', root]);
step(`tests (${files.length} files)`, process.execPath, ['--test', '--test-concurrency=2', '--test-timeout=300000', '--test-reporter=spec', ...files], {
  ...process.env,
  PATH: `${join(root, '.tools/bin')}:${process.env.PATH}`,
});
