import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
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

