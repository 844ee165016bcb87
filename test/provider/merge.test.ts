import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mergeParts } from '../../src/provider/merge.ts';

describe('mergeParts', () => {
  it('merges plain objects key by key and lets later parts replace other values', () => {
    const merged = mergeParts<Record<string, unknown>>({ features: { a: { enabled: true }, b: 1 }, list: [1] }, { features: { a: { x: 2 } }, list: [2] });
    assert.deepEqual(merged, { features: { a: { enabled: true, x: 2 }, b: 1 }, list: [2] });
  });
  it('combines extraClientMetadata from several parts: all properties, every validator', () => {
    const calls: string[] = [];
    const merged = mergeParts<{ extraClientMetadata: { properties: string[]; validator: (...a: unknown[]) => void } }>(
      { extraClientMetadata: { properties: ['a'], validator: (_c: unknown, key: string) => calls.push(`one:${key}`) } },
      { extraClientMetadata: { properties: ['b', 'a'], validator: (_c: unknown, key: string) => calls.push(`two:${key}`) } },
    );
    assert.deepEqual(merged.extraClientMetadata.properties, ['a', 'b']);
    assert.equal(merged.extraClientMetadata.validator({}, 'a', 1, {}), undefined, 'synchronous');
    assert.deepEqual(calls, ['one:a', 'two:a']);
  });
});
