import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ROOT } from '../../helpers/cli.ts';

interface Row {
  scenario: string;
  system: string;
  result?: { requests: number; cpuPerRequest?: number };
  ratio?: number;
  unavailable?: string;
}

// Scenarios that must be measured on every build, Gatehouse against its baseline.
const ALWAYS = [
  'client_credentials opaque (sqlite)',
  'client_credentials jwt-es256 (sqlite)',
  'client_credentials jwt-rs256 (sqlite)',
  'mTLS keep-alive jwt-es256 (sqlite)',
  'mTLS handshake/req jwt-es256 (sqlite)',
  'introspection (sqlite)',
  'discovery',
  'jwks',
];

describe('benchmarks (smoke: a few requests per scenario)', () => {
  it('every scenario runs against Gatehouse and its baseline without errors, or says why Gatehouse cannot', () => {
    const r = spawnSync(process.execPath, [join(ROOT, 'bench/run.ts'), '--smoke'], { cwd: ROOT, encoding: 'utf8', timeout: 240_000 });
    assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
    const results = JSON.parse(readFileSync(join(ROOT, 'bench/results/smoke.json'), 'utf8')) as { rows: Row[] };
    const scenarios = new Set(results.rows.map((row) => row.scenario));
    for (const s of ALWAYS) assert.ok(scenarios.has(s), `${s} missing from ${[...scenarios].join(', ')}`);
    assert.ok([...scenarios].some((s) => s.startsWith('device polling')), 'device polling scenario missing');
    assert.ok([...scenarios].some((s) => s.endsWith('(mongodb)')), 'mongodb scenarios missing');
    for (const s of scenarios) {
      const batch = results.rows.filter((row) => row.scenario === s);
      const gatehouse = batch.filter((row) => row.system.startsWith('gatehouse'));
      assert.equal(gatehouse.length, 1, `${s} has one Gatehouse row`);
      const g = gatehouse[0]!;
      if (g.unavailable) {
        // Only features another branch brings may be missing, and the reason is said.
        assert.ok(!ALWAYS.includes(s), `${s} must be measured: ${g.unavailable}`);
        assert.ok(g.unavailable.length > 20, `${s}: the reason is said (${g.unavailable})`);
        continue;
      }
      assert.equal(batch.length, 2, `${s} has a Gatehouse run and a baseline`);
      for (const row of batch) {
        assert.ok(row.result && row.result.requests >= 20, `${s} / ${row.system}: ${row.result?.requests} requests`);
        assert.ok(row.result.cpuPerRequest! > 0, `${s} / ${row.system}: server CPU measured`);
        assert.ok(row.ratio! > 0, `${s} / ${row.system}: ratio`);
      }
    }
  });
});
