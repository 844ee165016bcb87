import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runCli } from '../helpers/cli.ts';

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
});
