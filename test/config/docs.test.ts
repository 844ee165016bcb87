import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { envExample, withTable } from '../../src/config/docs.ts';
import { settings } from '../../src/config/schema.ts';
import { ROOT } from '../helpers/cli.ts';

describe('configuration docs', () => {
  it('README.md has the current configuration table (run `npm run docs`)', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    assert.equal(readme, withTable(readme));
  });
  it('.env.example lists every setting (run `npm run docs`)', () => {
    const example = readFileSync(join(ROOT, '.env.example'), 'utf8');
    assert.equal(example, envExample());
    for (const s of Object.values(settings)) assert.ok(example.includes(`# ${s.env}=`), s.env);
  });
  it('every setting is documented with a type and a description', () => {
    for (const s of Object.values(settings)) {
      assert.ok(s.type && s.description.length > 10, s.env);
      assert.match(s.env, /^(GATEHOUSE_[A-Z0-9_]+|MONGODB_URI)$/);
    }
  });
});
