import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ROOT } from '../helpers/cli.ts';

describe('benchmarks (smoke: a few requests per scenario)', () => {
  it('every scenario runs against Gatehouse and its baseline without errors', () => {
    const r = spawnSync(process.execPath, [join(ROOT, 'bench/run.ts'), '--smoke'], { cwd: ROOT, encoding: 'utf8', timeout: 240_000 });
    assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
    const results = JSON.parse(readFileSync(join(ROOT, 'bench/results/smoke.json'), 'utf8')) as { rows: Array<{ scenario: string; system: string; result: { requests: number } }> };
    const scenarios = new Set(results.rows.map((row) => row.scenario));
    assert.ok(scenarios.size >= 4, [...scenarios].join(', '));
    for (const row of results.rows) assert.ok(row.result.requests >= 20, `${row.scenario} / ${row.system}`);
    for (const s of scenarios) {
      const systems = results.rows.filter((row) => row.scenario === s).map((row) => row.system);
      assert.ok(systems.some((n) => n.startsWith('gatehouse')) && systems.length === 2, `${s} has a Gatehouse run and a baseline`);
    }
  });
});
