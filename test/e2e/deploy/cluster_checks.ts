// Assertions the deploy tier makes against the API server started by kube_cluster.ts.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { CHART, type K8sObject } from '../../deploy/chart.ts';
import type { CommandResult, KubeCluster } from './kube_cluster.ts';

/** Runs helm against the cluster and fails with its output unless it succeeds. */
export function helmOk(cluster: KubeCluster, args: string[]): CommandResult {
  const r = cluster.helm(args);
  assert.equal(r.status, 0, `helm ${args.join(' ')} failed:\n${r.stdout}\n${r.stderr}`);
  assert.doesNotMatch(r.stderr, /would violate PodSecurity/, 'the API server warned about Pod Security');
  return r;
}

/** `-f` arguments for chart-relative values files. */
export function valuesArgs(files: string[]): string[] {
  return files.flatMap((f) => ['-f', join(CHART, f)]);
}

/**
 * Helm arguments for one ci values file. A file with inline mTLS PEM (placeholders: no private key
 * is committed) gets a real certificate and key made at run time instead — the API server checks a
 * `kubernetes.io/tls` Secret's pair and warns about placeholders.
 */
export function ciValuesArgs(cluster: KubeCluster, file: string): string[] {
  const values = parse(readFileSync(join(CHART, file), 'utf8')) as { mtls?: { tls?: { cert?: string } } };
  if (!values.mtls?.tls?.cert) return valuesArgs([file]);
  const pem = (name: string) => join(cluster.dir, name);
  return [...valuesArgs([file]), '--set-file', `mtls.tls.cert=${pem('server.crt')}`, '--set-file', `mtls.tls.key=${pem('server.key')}`, '--set-file', `mtls.tls.ca=${pem('ca.crt')}`];
}

/** An object as the API server stores it, or undefined when it does not exist. */
export function getObject(cluster: KubeCluster, namespace: string, kind: string, name: string): K8sObject | undefined {
  const r = cluster.kubectl(['-n', namespace, 'get', kind, name, '-o', 'json']);
  if (r.status !== 0) {
    assert.match(r.stderr, /NotFound|not found/, r.stderr);
    return undefined;
  }
  return JSON.parse(r.stdout) as K8sObject;
}

export function mustGet(cluster: KubeCluster, namespace: string, kind: string, name: string): K8sObject {
  const o = getObject(cluster, namespace, kind, name);
  assert.ok(o, `${kind}/${name} exists in ${namespace}`);
  return o;
}

/** Helm's record of the release: its revision and status (deployed, failed, ...), or undefined. */
export function releaseInfo(cluster: KubeCluster, namespace: string, release: string): { revision: number; status: string } | undefined {
  const r = cluster.helm(['status', release, '-n', namespace, '-o', 'json']);
  if (r.status !== 0) {
    assert.match(r.stderr, /release: not found/, r.stderr);
    return undefined;
  }
  const parsed = JSON.parse(r.stdout) as { version: number; info: { status: string } };
  return { revision: parsed.version, status: parsed.info.status };
}

/** Names of the objects the release's current manifest holds, as `Kind/name`. */
export function releaseObjects(cluster: KubeCluster, namespace: string, release: string): string[] {
  const r = helmOk(cluster, ['get', 'manifest', release, '-n', namespace]);
  return [...r.stdout.matchAll(/^kind: (\w+)\nmetadata:\n {2}name: (\S+)$/gm)].map((m) => `${m[1]}/${m[2]}`).sort();
}

/**
 * Creates (dry run) a Pod from the stored Deployment's pod template, as its ReplicaSet would: this
 * is where a namespace's Pod Security `enforce` level applies (there is no controller manager here
 * to create the ReplicaSet and Pods for real). Resolves with the API server's answer.
 */
export async function dryRunPod(cluster: KubeCluster, namespace: string, deployment: string | K8sObject) {
  const d = typeof deployment === 'string' ? mustGet(cluster, namespace, 'deployment', deployment) : deployment;
  const template = d.spec.template;
  const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { ...template.metadata, generateName: `${d.metadata.name}-` }, spec: template.spec };
  return cluster.api('POST', `/api/v1/namespaces/${namespace}/pods?dryRun=All&fieldValidation=Strict`, pod);
}

/** The Deployment's pod would be admitted in its (Pod Security `restricted`) namespace. */
export async function assertPodAdmitted(cluster: KubeCluster, namespace: string, deployment: string | K8sObject): Promise<void> {
  const r = await dryRunPod(cluster, namespace, deployment);
  assert.equal(r.status, 201, `pod refused: ${JSON.stringify(r.body)}`);
  assert.deepEqual(r.warnings, []);
}
