import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { test } from 'node:test';

const ROOT = join(import.meta.dirname, '..', '..');
const SRC = join(ROOT, 'src');

function sourceFiles(): string[] {
  return readdirSync(SRC, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && /\.(ts|js|mts|cts)$/.test(e.name))
    .map((e) => join(e.parentPath, e.name));
}

// Static imports, re-exports, dynamic import(), require() and `declare module` all name the path
// in a string literal; a comment mentioning it is harmless but caught too, which is fine.
const PRIVATE = /['"`]oidc-provider\/lib\//;

test('src/ has TypeScript files to check (the walk itself works)', () => {
  const files = sourceFiles();
  assert.ok(files.length > 50, `found only ${files.length} files under src/`);
  assert.ok(files.some((f) => f.endsWith(join('features', 'device_flow', 'polling.ts'))));
});

test("nothing under src/ imports oidc-provider's private lib/ (it changes without notice)", () => {
  const offenders = sourceFiles().filter((f) => PRIVATE.test(readFileSync(f, 'utf8')));
  assert.deepEqual(offenders.map((f) => relative(ROOT, f)), []);
});

test('the check recognises the import forms it guards against', () => {
  for (const line of [
    "import instance from 'oidc-provider/lib/helpers/weak_cache.js';",
    'const x = await import("oidc-provider/lib/actions/token.js");',
    "declare module 'oidc-provider/lib/helpers/weak_cache.js' {}",
  ]) {
    assert.ok(PRIVATE.test(line), line);
  }
  assert.ok(!PRIVATE.test("import Provider from 'oidc-provider';"));
});


/** Relative imports of every file under src/, as paths from the repository root. */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  // `import … from`, `export … from`, bare `import './x.ts'` and dynamic `import('./x.ts')`.
  const IMPORT = /(?:^|\n)\s*(?:import|export)\s(?:[^'"]*?from\s+)?['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)/g;
  for (const file of sourceFiles()) {
    const text = readFileSync(file, 'utf8');
    const targets: string[] = [];
    for (const m of text.matchAll(IMPORT)) targets.push(relative(ROOT, join(dirname(file), m[1] ?? m[2]!)));
    graph.set(relative(ROOT, file), targets);
  }
  return graph;
}

test('the import graph is read (a known edge is found)', () => {
  assert.ok(importGraph().get(join('src', 'cli', 'commands', 'serve.ts'))?.includes(join('src', 'server', 'gatehouse.ts')));
});

test('nothing imports the composition root except `gatehouse serve`', () => {
  const offenders = [...importGraph()].filter(([file, targets]) => file !== join('src', 'cli', 'commands', 'serve.ts') && targets.some((t) => t.startsWith(join('src', 'server') + sep)));
  assert.deepEqual(offenders.map(([file]) => file), []);
});

test('features are imported only from above them (the server root, the CLI, other features)', () => {
  const above = ['server', 'cli', 'features'].map((d) => join('src', d) + sep);
  const offenders = [...importGraph()].filter(([file, targets]) => !above.some((a) => file.startsWith(a)) && targets.some((t) => t.startsWith(join('src', 'features') + sep)));
  assert.deepEqual(offenders.map(([file]) => file), []);
});

test('src/shared/ imports nothing from the rest of src/', () => {
  const shared = join('src', 'shared') + sep;
  const offenders = [...importGraph()].filter(([file, targets]) => file.startsWith(shared) && targets.some((t) => t.startsWith(join('src') + sep) && !t.startsWith(shared)));
  assert.deepEqual(offenders.map(([file]) => file), []);
});

test('no import circles between files of src/', () => {
  const graph = importGraph();
  const state = new Map<string, 'open' | 'done'>();
  const circles: string[] = [];
  const visit = (file: string, path: string[]) => {
    if (state.get(file) === 'done') return;
    if (state.get(file) === 'open') return void circles.push([...path.slice(path.indexOf(file)), file].join(' -> '));
    state.set(file, 'open');
    for (const next of graph.get(file) ?? []) visit(next, [...path, file]);
    state.set(file, 'done');
  };
  for (const file of graph.keys()) visit(file, []);
  assert.deepEqual(circles, []);
});
