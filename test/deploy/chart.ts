import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isMap, isScalar, parseAllDocuments, parseDocument, stringify, type YAMLMap } from 'yaml';
import { ROOT } from '../helpers/cli.ts';

export const CHART = join(ROOT, 'cd', 'helm');
/**
 * Kubernetes version the chart is rendered for. helm built from source (test/setup/tools.sh) has no
 * version stamped in and would assume v1.20, below the chart's kubeVersion; this is also the API
 * level of the kubernetes-models schemas the objects are validated against.
 */
export const KUBE_VERSION = '1.33.0';

/** The helm binary test/setup/tools.sh builds; a missing one fails the test, it never skips. */
export function helmBinary(): string {
  const local = join(ROOT, '.tools', 'bin', 'helm');
  if (existsSync(local)) return local;
  const r = spawnSync('helm', ['version', '--short'], { encoding: 'utf8' });
  if (r.status === 0) return 'helm';
  throw new Error('helm not found: run test/setup/tools.sh (npm test does) to build it into .tools/bin');
}

export interface HelmResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function helm(args: string[]): HelmResult {
  const r = spawnSync(helmBinary(), args, { cwd: ROOT, encoding: 'utf8', maxBuffer: 32 * 1024 * 1024 });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Every `cd/helm/ci/*-values.yaml`, as paths relative to the chart. */
export function ciValuesFiles(): string[] {
  return readdirSync(join(CHART, 'ci'))
    .filter((f) => f.endsWith('-values.yaml'))
    .sort()
    .map((f) => join('ci', f));
}

/** A rendered Kubernetes object, loosely typed: tests reach into it by path. */
export type K8sObject = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  [key: string]: any;
};

/** Values given as dotted paths (`a.b[0]`), expanded into the nested object helm reads. */
export type Overrides = Record<string, unknown>;

function nest(overrides: Overrides): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  for (const [path, value] of Object.entries(overrides)) {
    const parts = path.split('.').flatMap((p) => p.split(/\[(\d+)\]/).filter(Boolean).map((x) => (/^\d+$/.test(x) ? Number(x) : x)));
    let node: Record<string | number, unknown> = root;
    parts.forEach((part, i) => {
      if (i === parts.length - 1) node[part] = value;
      else node = (node[part] ??= typeof parts[i + 1] === 'number' ? [] : {}) as Record<string | number, unknown>;
    });
  }
  return root;
}

/** Writes overrides to a values file in `dir` (so any string, comma or brace passes through untouched). */
export function overridesFile(dir: string, overrides: Overrides): string {
  const file = join(dir, 'overrides.yaml');
  writeFileSync(file, stringify(nest(overrides)));
  return file;
}

/**
 * `helm template` with the chart's ci values files plus overrides; returns the raw result.
 * `extraArgs` go to helm as they are (e.g. `--skip-schema-validation`).
 */
export function template(valuesFiles: string[], overrides: Overrides = {}, release = 'gh', extraArgs: string[] = []): HelmResult {
  const dir = mkdtempSync(join(tmpdir(), 'gh-helm-'));
  try {
    return helm([
      'template', release, CHART, '--namespace', 'auth', '--kube-version', KUBE_VERSION,
      ...valuesFiles.flatMap((f) => ['-f', join(CHART, f)]), '-f', overridesFile(dir, overrides), ...extraArgs,
    ]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Renders and parses; throws with helm's message when rendering fails. */
export function render(valuesFiles: string[], overrides: Overrides = {}, release = 'gh', extraArgs: string[] = []): K8sObject[] {
  const r = template(valuesFiles, overrides, release, extraArgs);
  if (r.status !== 0) throw new Error(`helm template ${valuesFiles.join(' ')} failed:\n${r.stderr}`);
  return parseManifests(r.stdout);
}

/** Parses helm's output as Kubernetes does (YAML 1.1: `0440` is octal, `yes` is a boolean). */
export function parseManifests(text: string): K8sObject[] {
  const docs = parseAllDocuments(text, { version: '1.1' });
  const objects: K8sObject[] = [];
  for (const doc of docs) {
    if (doc.errors.length) throw new Error(`rendered YAML does not parse: ${doc.errors.map((e) => e.message).join('; ')}`);
    const value = doc.toJS() as K8sObject | null;
    if (value !== null) objects.push(value);
  }
  return objects;
}

export function only(objects: K8sObject[], kind: string): K8sObject {
  const found = objects.filter((o) => o.kind === kind);
  if (found.length !== 1) throw new Error(`expected one ${kind}, rendered ${found.length}`);
  return found[0]!;
}

export function kinds(objects: K8sObject[]): string[] {
  return objects.map((o) => `${o.kind}/${o.metadata.name}`).sort();
}

/**
 * Keys of a values.yaml without a helm-docs `# --` comment on themselves or on an enclosing key
 * (a documented map, such as a security context, documents what it holds).
 */
export function undocumentedValues(text: string): string[] {
  const doc = parseDocument(text);
  const undocumented: string[] = [];
  const walk = (map: YAMLMap, path: string[]): void => {
    map.items.forEach((pair, index) => {
      const key = String(isScalar(pair.key) ? pair.key.value : pair.key);
      let comment = (isScalar(pair.key) ? pair.key.commentBefore : '') ?? '';
      // The parser attaches a comment before the first key to the enclosing map or document.
      if (index === 0) comment += (map.commentBefore ?? '') + (path.length === 0 ? (doc.commentBefore ?? '') : '');
      if (/(^|\n)\s*-- /.test(comment) || comment.startsWith('-- ')) return;
      if (isMap(pair.value) && pair.value.items.length > 0) walk(pair.value, [...path, key]);
      else undocumented.push([...path, key].join('.'));
    });
  };
  if (isMap(doc.contents)) walk(doc.contents, []);
  return undocumented;
}

/**
 * NOTES.txt as `helm install` would print it. `helm template` never renders NOTES and `helm install
 * --dry-run` needs a cluster, so a copy of the chart wraps the same template in a ConfigMap.
 */
export function renderNotes(valuesFiles: string[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'gh-notes-'));
  try {
    const chart = join(dir, 'gatehouse');
    cpSync(CHART, chart, { recursive: true });
    const notes = readFileSync(join(chart, 'templates', 'NOTES.txt'), 'utf8');
    rmSync(join(chart, 'templates', 'NOTES.txt'));
    writeFileSync(join(chart, 'templates', '_notes_probe.tpl'), `{{- define "notes-probe" -}}\n${notes}{{- end }}\n`);
    writeFileSync(join(chart, 'templates', 'notes_probe.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: notes\ndata:\n  notes: {{ include "notes-probe" . | quote }}\n');
    const r = helm(['template', 'gh', chart, '--namespace', 'auth', '--kube-version', KUBE_VERSION, '-s', 'templates/notes_probe.yaml', ...valuesFiles.flatMap((f) => ['-f', join(CHART, f)])]);
    if (r.status !== 0) throw new Error(`rendering NOTES.txt failed:\n${r.stderr}`);
    return only(parseManifests(r.stdout), 'ConfigMap').data.notes as string;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
