// The values table of cd/helm/README.md, generated from the `# --` comments of values.yaml (the
// helm-docs convention). `node test/deploy/chart_readme.ts --write` regenerates it; a test checks it.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isMap, isScalar, parseDocument, type YAMLMap } from 'yaml';
import { CHART } from './chart.ts';

export const README = join(CHART, 'README.md');
const START = '<!-- values-table:start (generated from values.yaml by `node test/deploy/chart_readme.ts --write`) -->';
const END = '<!-- values-table:end -->';

interface Documented {
  key: string;
  type: string;
  value: unknown;
  description: string;
}

function typeOf(value: unknown): string {
  if (Array.isArray(value)) return 'list';
  if (value === null) return 'int or null';
  return typeof value === 'object' ? 'object' : typeof value === 'number' ? 'int' : typeof value === 'boolean' ? 'bool' : 'string';
}

/** Documented keys in file order: the text from the last `-- ` line of each key's comment. */
export function documentedValues(text: string): Documented[] {
  const doc = parseDocument(text);
  const out: Documented[] = [];
  const walk = (map: YAMLMap, path: string[]): void => {
    map.items.forEach((pair, index) => {
      const key = [...path, String(isScalar(pair.key) ? pair.key.value : pair.key)];
      let comment = (isScalar(pair.key) ? pair.key.commentBefore : '') ?? '';
      if (index === 0) comment = (path.length === 0 ? (doc.commentBefore ?? '') + '\n' : '') + (map.commentBefore ?? '') + '\n' + comment;
      const lines = comment.split('\n').map((l) => l.trim());
      const start = lines.findLastIndex((l) => l.startsWith('-- '));
      if (start >= 0) {
        const description = lines.slice(start).join(' ').replace(/^-- /, '').replace(/\s+/g, ' ').trim();
        const value = (pair.value as { toJSON?: () => unknown } | null)?.toJSON?.() ?? null;
        out.push({ key: key.join('.'), type: typeOf(value), value, description });
      } else if (isMap(pair.value)) {
        walk(pair.value, key);
      }
    });
  };
  if (isMap(doc.contents)) walk(doc.contents, []);
  return out;
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|');
}

export function valuesTable(text = readFileSync(join(CHART, 'values.yaml'), 'utf8')): string {
  const rows = documentedValues(text).map((d) => `| \`${d.key}\` | ${d.type} | \`${cell(JSON.stringify(d.value))}\` | ${cell(d.description)} |`);
  return [START, '| Key | Type | Default | Description |', '| --- | --- | --- | --- |', ...rows, END].join('\n');
}

/** README.md with its values table replaced by the generated one. */
export function regenerated(readme = readFileSync(README, 'utf8')): string {
  const from = readme.indexOf('<!-- values-table:start');
  const to = readme.indexOf(END);
  if (from < 0 || to < 0) throw new Error(`${README} lacks the values-table markers`);
  return readme.slice(0, from) + valuesTable() + readme.slice(to + END.length);
}

if (process.argv[1] && import.meta.filename === process.argv[1] && process.argv.includes('--write')) {
  writeFileSync(README, regenerated());
  console.log(`wrote ${README}`);
}
