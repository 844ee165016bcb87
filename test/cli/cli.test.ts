import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { join } from 'node:path';
import { ROOT, runCli } from '../helpers/cli.ts';

describe('gatehouse command line', () => {
  it('--help lists the commands and exits 0', async () => {
    const r = await runCli(['--help']);
    assert.equal(r.status, 0);
    assert.match(r.stdout, /Usage: gatehouse/);
    assert.match(r.stdout, /serve/);
  });
  it('serve --help exits 0', async () => {
    const r = await runCli(['serve', '--help']);
    assert.equal(r.status, 0);
    assert.match(r.stdout, /Usage: gatehouse serve/);
  });
  it('an unknown command exits 2 with a hint', async () => {
    const r = await runCli(['frobnicate']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /unknown command/);
  });
  it('an unknown option exits 2', async () => {
    const r = await runCli(['serve', '--nope']);
    assert.equal(r.status, 2);
  });
  it('keeps a compile cache next to the dependencies: a second run takes the type-stripped modules from it', async () => {
    // Node's own debug output names each cache read; the pinned Node (24) prints it in this form.
    const debug = { NODE_DEBUG_NATIVE: 'COMPILE_CACHE' };
    assert.equal((await runCli(['--version'], { env: debug })).status, 0);
    const again = await runCli(['--version'], { env: debug });
    assert.equal(again.status, 0);
    assert.equal(again.stdout.trim(), '0.1.0');
    const cacheDir = join(ROOT, 'node_modules', '.cache', 'gatehouse-compile');
    assert.ok(again.stderr.includes(`reading cache from ${cacheDir}`), again.stderr.slice(0, 2000));
    for (const module of ['src/cli/main.ts', 'src/cli/program.ts', 'src/server/gatehouse.ts']) {
      assert.ok(again.stderr.includes(`retrieving transpile cache for StrippedTypeScript file://${join(ROOT, module)}...success`), module);
    }
  });
  it('runs without the compile cache when told to', async () => {
    const r = await runCli(['--version'], { env: { NODE_DISABLE_COMPILE_CACHE: '1', NODE_DEBUG_NATIVE: 'COMPILE_CACHE' } });
    assert.equal(r.status, 0);
    assert.equal(r.stdout.trim(), '0.1.0');
    assert.doesNotMatch(r.stderr, /retrieving transpile cache/);
  });
});
