// What a real kube-apiserver (kube_cluster.ts) says about the chart's objects without installing
// them: `helm template | kubectl apply --dry-run=server` for every ci values file in a namespace
// enforcing Pod Security `restricted`; the values the chart refuses (test/deploy/refused_values.ts)
// are refused by the server too once past the chart's checks; and the README's kind walkthrough,
// the steps that can run without a container engine, runs as written.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ROOT } from '../../helpers/cli.ts';
import { CHART, ciValuesFiles, parseManifests, render, type K8sObject } from '../../deploy/chart.ts';
import { REFUSED_VALUES } from '../../deploy/refused_values.ts';
import { assertPodAdmitted, ciValuesArgs, dryRunPod, helmOk, mustGet, releaseInfo } from './cluster_checks.ts';
import { KUBE_VERSION, startKubeCluster, type KubeCluster } from './kube_cluster.ts';

let cluster: KubeCluster;
before(async () => {
  cluster = await startKubeCluster();
  cluster.restrictedNamespace('refusals');
}, { timeout: 240_000 });
after(() => cluster?.stop());

/** `kubectl apply --dry-run=server` of objects (as one List) into a namespace. */
function serverDryRun(namespace: string, objects: K8sObject[]) {
  return cluster.kubectl(['apply', '--dry-run=server', '-n', namespace, '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }));
}

describe('helm template | kubectl apply --dry-run=server (Pod Security restricted)', () => {
  for (const file of ciValuesFiles()) {
    it(file, async () => {
      const ns = `dry-${basename(file, '-values.yaml')}`;
      cluster.restrictedNamespace(ns);
      const rendered = helmOk(cluster, ['template', 'gatehouse', CHART, '-n', ns, '--kube-version', KUBE_VERSION, ...ciValuesArgs(cluster, file)]);
      const r = cluster.kubectl(['apply', '--dry-run=server', '-n', ns, '-f', '-'], rendered.stdout);
      assert.equal(r.status, 0, r.stderr);
      const objects = parseManifests(rendered.stdout);
      for (const o of objects) assert.match(r.stdout, new RegExp(`${o.metadata.name} created \\(server dry run\\)`), `${o.kind}/${o.metadata.name}`);
      assert.equal(r.stderr, '', 'no warning (Pod Security, deprecated API, unknown field)');
      const deployment = objects.find((o) => o.kind === 'Deployment')!;
      // Service accounts are checked at pod admission: create the chart's, as the install would.
      const sa = objects.filter((o) => o.kind === 'ServiceAccount');
      assert.equal(cluster.kubectl(['apply', '-n', ns, '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: sa })).status, 0);
      await assertPodAdmitted(cluster, ns, deployment);
    });
  }

  it('the check can fail: a container allowed to escalate privileges is warned about and its pod refused', async () => {
    const objects = render(['ci/defaults-values.yaml'], { 'securityContext.allowPrivilegeEscalation': true });
    const r = serverDryRun('refusals', objects);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /Warning: would violate PodSecurity "restricted:latest": allowPrivilegeEscalation != false/);
    const deployment = objects.find((o) => o.kind === 'Deployment')!;
    const sa = objects.filter((o) => o.kind === 'ServiceAccount');
    assert.equal(cluster.kubectl(['apply', '-n', 'refusals', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: sa })).status, 0);
    const pod = await dryRunPod(cluster, 'refusals', deployment);
    assert.equal(pod.status, 403, JSON.stringify(pod.body));
    assert.match(pod.body.message, /violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false/);
  });
});

describe('the API server refuses what the chart refuses (test/deploy/refused_values.ts)', () => {
  for (const c of REFUSED_VALUES) {
    it(c.name, () => {
      let objects: K8sObject[];
      if (c.bypass) {
        objects = render(['ci/defaults-values.yaml'], c.bypass.values);
        c.bypass.mutate(objects);
      } else {
        objects = render(['ci/defaults-values.yaml'], c.values, 'gh', ['--skip-schema-validation']);
      }
      const r = serverDryRun('refusals', objects);
      assert.notEqual(r.status, 0, `the API server accepted ${JSON.stringify(c.values)}:\n${r.stdout}`);
      assert.match(r.stderr, c.server);
    });
  }
});

/** The commands of one numbered step (`# 5. Install`) of the README's kind walkthrough. */
function walkthroughStep(readme: string, step: number): string[] {
  const start = readme.indexOf('#### Walkthrough: kind');
  const block = readme.slice(readme.indexOf('```sh\n', start) + 6, readme.indexOf('\n```', readme.indexOf('```sh\n', start)));
  const from = block.search(new RegExp(`^# ${step}\\. `, 'm'));
  const to = block.slice(from + 1).search(/^# \d+\. /m);
  const text = block.slice(from, to < 0 ? undefined : from + 1 + to);
  // One entry per command: continuation lines joined, comments dropped.
  return text.replace(/\\\n\s*/g, ' ').split('\n').filter((l) => l.trim() && !l.startsWith('#'));
}

describe("the README's kind walkthrough, the steps that can run here", () => {
  it('step 1 (namespace), step 3 (the keys Secret), step 4 (mTLS certificates and their Secret), step 5 (helm install)', async () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const step1 = walkthroughStep(readme, 1).filter((c) => c.startsWith('kubectl '));
    const step3 = walkthroughStep(readme, 3).filter((c) => !c.includes('gatehouse serve'));
    const step4 = walkthroughStep(readme, 4);
    const step5 = walkthroughStep(readme, 5).filter((c) => !c.includes('rollout status'));
    assert.deepEqual(step1, ['kubectl create namespace auth']);
    assert.ok(step3.length === 1 && step3[0]!.startsWith('kubectl -n auth create secret generic gatehouse-keys'), step3.join('\n'));
    assert.ok(step4.some((c) => c.includes('--type=kubernetes.io/tls')), step4.join('\n'));
    assert.ok(step5.length === 1 && step5[0]!.startsWith('helm install gatehouse cd/helm -n auth'), step5.join('\n'));

    // Run from a scratch dir where cd/helm is the repository's chart; step 3's `serve` line would
    // write k8s-keys/jwks.json, so the test writes one.
    const work = join(cluster.dir, 'walkthrough');
    mkdirSync(join(work, 'k8s-keys'), { recursive: true });
    symlinkSync(join(ROOT, 'cd'), join(work, 'cd'));
    writeFileSync(join(work, 'k8s-keys', 'jwks.json'), '{"keys":[]}');
    const script = ['set -euo pipefail', 'MONGODB_URI=mongodb://gatehouse:pw@mongodb-0.mongodb-svc.auth.svc.cluster.local:27017/gatehouse', ...step1, ...step3, ...step4, ...step5].join('\n');
    const r = spawnSync('bash', ['-c', script], { cwd: work, env: cluster.env, encoding: 'utf8', timeout: 180_000 });
    assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);

    assert.deepEqual(releaseInfo(cluster, 'auth', 'gatehouse'), { revision: 1, status: 'deployed' });
    const d = mustGet(cluster, 'auth', 'deployment', 'gatehouse');
    assert.equal(d.spec.replicas, 3);
    const secrets = d.spec.template.spec.volumes.filter((v: { secret?: unknown }) => v.secret).map((v: { secret: { secretName: string } }) => v.secret.secretName).sort();
    assert.deepEqual(secrets, ['gatehouse-keys', 'gatehouse-mtls-tls']);
    const tls = mustGet(cluster, 'auth', 'secret', 'gatehouse-mtls-tls');
    assert.equal(tls.type, 'kubernetes.io/tls');
    assert.deepEqual(Object.keys(tls.data).sort(), ['ca.crt', 'tls.crt', 'tls.key']);
    const keys = mustGet(cluster, 'auth', 'secret', 'gatehouse-keys');
    assert.deepEqual(Object.keys(keys.data).sort(), ['cookie-keys', 'jwks.json', 'mongodb-uri']);
    assert.ok(Buffer.from(keys.data['cookie-keys'], 'base64').length >= 32);
    // The walkthrough's namespace does not enforce Pod Security; the pod would pass `restricted` anyway.
    cluster.restrictedNamespace('walkthrough-restricted');
    const sa = cluster.kubectl(['create', 'serviceaccount', 'gatehouse', '-n', 'walkthrough-restricted']);
    assert.equal(sa.status, 0, sa.stderr);
    await assertPodAdmitted(cluster, 'walkthrough-restricted', d);
  });
});
