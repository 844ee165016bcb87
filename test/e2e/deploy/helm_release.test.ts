// The chart installed for real: helm install, upgrade, rollback and uninstall of every
// cd/helm/ci/*-values.yaml against a real kube-apiserver (see kube_cluster.ts), each in a namespace
// enforcing Pod Security `restricted`; store type and Service type changes; a 53-character release
// name; the values that cannot change after install fail as cd/helm/README.md says, and the
// recovery it describes works. One API server for the file, a namespace per case.
import assert from 'node:assert/strict';
import { basename } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CHART, ciValuesFiles } from '../../deploy/chart.ts';
import { assertPodAdmitted, ciValuesArgs, getObject, helmOk, mustGet, releaseInfo, releaseObjects, valuesArgs } from './cluster_checks.ts';
import { startKubeCluster, type KubeCluster } from './kube_cluster.ts';

let cluster: KubeCluster;
before(async () => {
  cluster = await startKubeCluster();
}, { timeout: 240_000 });
after(() => cluster?.stop());

const DEFAULTS = valuesArgs(['ci/defaults-values.yaml']);
const MONGODB = ['--set', 'store.type=mongodb', '--set', 'store.mongodb.uri=mongodb://db.example/gatehouse', '--set', 'replicaCount=2'];

function configMap(namespace: string, name = 'gatehouse'): Record<string, string> {
  return mustGet(cluster, namespace, 'configmap', name).data;
}

describe('helm install, upgrade, rollback and uninstall of every ci values file (Pod Security restricted)', () => {
  for (const file of ciValuesFiles()) {
    it(file, async () => {
      const ns = `ci-${basename(file, '-values.yaml')}`;
      cluster.restrictedNamespace(ns);
      const values = ciValuesArgs(cluster, file);

      const install = helmOk(cluster, ['install', 'gatehouse', CHART, '-n', ns, ...values]);
      assert.match(install.stdout, /STATUS: deployed/);
      assert.match(install.stdout, /Gatehouse 0\.1\.0 is deployed as gatehouse/, 'NOTES.txt is printed');
      assert.deepEqual(releaseInfo(cluster, ns, 'gatehouse'), { revision: 1, status: 'deployed' });
      const objects = releaseObjects(cluster, ns, 'gatehouse');
      for (const object of objects) {
        const [kind, name] = object.split('/') as [string, string];
        assert.ok(getObject(cluster, ns, kind, name), `${object} is stored`);
      }
      assert.ok(objects.includes('Service/gatehouse-mtls'), objects.join());
      await assertPodAdmitted(cluster, ns, 'gatehouse');
      const before = mustGet(cluster, ns, 'deployment', 'gatehouse').spec.template.metadata.annotations['checksum/config'];

      helmOk(cluster, ['upgrade', 'gatehouse', CHART, '-n', ns, ...values, '--set', 'logLevel=debug']);
      assert.deepEqual(releaseInfo(cluster, ns, 'gatehouse'), { revision: 2, status: 'deployed' });
      assert.equal(configMap(ns).GATEHOUSE_LOG_LEVEL, 'debug');
      assert.notEqual(mustGet(cluster, ns, 'deployment', 'gatehouse').spec.template.metadata.annotations['checksum/config'], before, 'pods roll');
      await assertPodAdmitted(cluster, ns, 'gatehouse');

      helmOk(cluster, ['rollback', 'gatehouse', '1', '-n', ns]);
      assert.deepEqual(releaseInfo(cluster, ns, 'gatehouse'), { revision: 3, status: 'deployed' });
      assert.equal(configMap(ns).GATEHOUSE_LOG_LEVEL, 'info');
      assert.equal(mustGet(cluster, ns, 'deployment', 'gatehouse').spec.template.metadata.annotations['checksum/config'], before);

      helmOk(cluster, ['uninstall', 'gatehouse', '-n', ns]);
      assert.equal(releaseInfo(cluster, ns, 'gatehouse'), undefined);
      for (const object of objects) {
        const [kind, name] = object.split('/') as [string, string];
        const left = getObject(cluster, ns, kind, name);
        // The SQLite volume outlives the release (helm.sh/resource-policy: keep); nothing else does.
        if (kind === 'PersistentVolumeClaim') assert.ok(left, `${object} is kept`);
        else assert.equal(left, undefined, `${object} is left after uninstall`);
      }
    });
  }
});

describe('upgrades that change the shape of the release', () => {
  it('store type: SQLite → MongoDB → SQLite, then a rollback to MongoDB', async () => {
    const ns = 'store-change';
    cluster.restrictedNamespace(ns);
    helmOk(cluster, ['install', 'gatehouse', CHART, '-n', ns, ...DEFAULTS]);
    assert.equal(mustGet(cluster, ns, 'deployment', 'gatehouse').spec.strategy.type, 'Recreate');

    helmOk(cluster, ['upgrade', 'gatehouse', CHART, '-n', ns, ...DEFAULTS, ...MONGODB]);
    let d = mustGet(cluster, ns, 'deployment', 'gatehouse');
    assert.equal(d.spec.strategy.type, 'RollingUpdate');
    assert.equal(d.spec.replicas, 2);
    assert.equal(configMap(ns).GATEHOUSE_STORE, 'mongodb');
    assert.ok(d.spec.template.spec.volumes.find((v: { name: string }) => v.name === 'data').emptyDir);
    assert.ok(getObject(cluster, ns, 'poddisruptionbudget', 'gatehouse'));
    assert.ok(getObject(cluster, ns, 'persistentvolumeclaim', 'gatehouse-data'), 'the SQLite volume is kept');
    await assertPodAdmitted(cluster, ns, 'gatehouse');

    helmOk(cluster, ['upgrade', 'gatehouse', CHART, '-n', ns, ...DEFAULTS]);
    d = mustGet(cluster, ns, 'deployment', 'gatehouse');
    assert.equal(d.spec.strategy.type, 'Recreate');
    assert.equal(d.spec.strategy.rollingUpdate, undefined);
    assert.equal(d.spec.replicas, 1);
    assert.equal(d.spec.template.spec.volumes.find((v: { name: string }) => v.name === 'data').persistentVolumeClaim.claimName, 'gatehouse-data');
    assert.equal(getObject(cluster, ns, 'poddisruptionbudget', 'gatehouse'), undefined);

    helmOk(cluster, ['rollback', 'gatehouse', '2', '-n', ns]);
    assert.deepEqual(releaseInfo(cluster, ns, 'gatehouse'), { revision: 4, status: 'deployed' });
    assert.equal(mustGet(cluster, ns, 'deployment', 'gatehouse').spec.strategy.type, 'RollingUpdate');
    assert.equal(configMap(ns).GATEHOUSE_STORE, 'mongodb');
  });

  it('Service types: ClusterIP → LoadBalancer → NodePort (fixed port) → ClusterIP, then a rollback', () => {
    const ns = 'service-type';
    cluster.restrictedNamespace(ns);
    const upgrade = (...set: string[]) => helmOk(cluster, ['upgrade', 'gatehouse', CHART, '-n', ns, ...DEFAULTS, ...set.flatMap((s) => ['--set', s])]);
    const mtls = () => mustGet(cluster, ns, 'service', 'gatehouse-mtls').spec;
    helmOk(cluster, ['install', 'gatehouse', CHART, '-n', ns, ...DEFAULTS]);
    assert.equal(mtls().type, 'ClusterIP');

    upgrade('mtlsService.type=LoadBalancer', 'service.type=NodePort');
    assert.equal(mtls().type, 'LoadBalancer');
    assert.equal(mtls().externalTrafficPolicy, 'Local');
    assert.ok(mtls().healthCheckNodePort > 0 && mtls().ports[0].nodePort > 0);
    assert.equal(mustGet(cluster, ns, 'service', 'gatehouse').spec.type, 'NodePort');

    upgrade('mtlsService.type=NodePort', 'mtlsService.nodePort=30443');
    assert.equal(mtls().type, 'NodePort');
    assert.equal(mtls().ports[0].nodePort, 30443);

    upgrade();
    assert.equal(mtls().type, 'ClusterIP');
    assert.equal(mtls().ports[0].nodePort, undefined);
    assert.equal(mtls().externalTrafficPolicy, undefined);
    assert.equal(mustGet(cluster, ns, 'service', 'gatehouse').spec.type, 'ClusterIP');

    helmOk(cluster, ['rollback', 'gatehouse', '3', '-n', ns]);
    assert.equal(mtls().type, 'NodePort');
    assert.equal(mtls().ports[0].nodePort, 30443);
  });
});

describe('long release names', () => {
  it('a 53-character release name (the longest Helm allows) installs, every name within 63 characters', async () => {
    const ns = 'long-name';
    cluster.restrictedNamespace(ns);
    // Without "gatehouse" in it, so the full name is the release name plus "-gatehouse": 63 characters.
    const release = 'auth-production-eu-west-1-blue-green-canary-0001-abcd';
    assert.equal(release.length, 53);
    const fullname = `${release}-gatehouse`;
    helmOk(cluster, ['install', release, CHART, '-n', ns, ...DEFAULTS]);
    assert.deepEqual(releaseInfo(cluster, ns, release), { revision: 1, status: 'deployed' });
    const objects = releaseObjects(cluster, ns, release);
    assert.ok(objects.includes(`Service/${fullname}`), objects.join());
    assert.ok(objects.includes(`Service/${fullname.slice(0, 58)}-mtls`), objects.join());
    for (const o of objects) assert.ok(o.split('/')[1]!.length <= 63, o);
    await assertPodAdmitted(cluster, ns, fullname);
    helmOk(cluster, ['upgrade', release, CHART, '-n', ns, ...DEFAULTS, '--set', 'logLevel=debug']);
    helmOk(cluster, ['uninstall', release, '-n', ns]);
  });

  it('a release name with dots and a leading digit gets valid Service names', () => {
    const ns = 'dotted-name';
    cluster.restrictedNamespace(ns);
    helmOk(cluster, ['install', '2026.eu-west', CHART, '-n', ns, ...DEFAULTS]);
    const objects = releaseObjects(cluster, ns, '2026.eu-west');
    assert.ok(objects.includes('Service/gatehouse-2026-eu-west') && objects.includes('Service/gatehouse-2026-eu-west-mtls'), objects.join());
  });
});

describe('values that cannot change after install (cd/helm/README.md)', () => {
  /** A fresh namespace with the defaults installed (revision 1). */
  const installed = (ns: string) => {
    cluster.restrictedNamespace(ns);
    helmOk(cluster, ['install', 'gatehouse', CHART, '-n', ns, ...DEFAULTS]);
  };
  const failedUpgrade = (ns: string, set: string[], message: RegExp) => {
    const r = cluster.helm(['upgrade', 'gatehouse', CHART, '-n', ns, ...DEFAULTS, ...set.flatMap((s) => ['--set', s])]);
    assert.notEqual(r.status, 0, `upgrade with ${set.join(' ')} succeeded`);
    assert.match(r.stderr, message);
    assert.equal(releaseInfo(cluster, ns, 'gatehouse')!.status, 'failed');
    // The recovery the chart README gives: roll back to the last good revision.
    const last = releaseInfo(cluster, ns, 'gatehouse')!.revision - 1;
    helmOk(cluster, ['rollback', 'gatehouse', String(last), '-n', ns]);
    assert.equal(releaseInfo(cluster, ns, 'gatehouse')!.status, 'deployed');
  };
  const immutableClaim = /PersistentVolumeClaim "gatehouse-data" is invalid: spec: Forbidden: spec is immutable/;

  it('persistence.size and accessModes: the PVC spec is immutable', () => {
    const ns = 'immutable-pvc';
    installed(ns);
    failedUpgrade(ns, ['persistence.size=2Gi'], immutableClaim);
    failedUpgrade(ns, ['persistence.accessModes[0]=ReadWriteOncePod'], immutableClaim);
    assert.equal(mustGet(cluster, ns, 'persistentvolumeclaim', 'gatehouse-data').spec.resources.requests.storage, '1Gi');
  });

  it('persistence.storageClass: may be set once on a claim without a class, never changed', () => {
    const ns = 'immutable-class';
    installed(ns);
    // No default StorageClass here, so the claim was created without one; Kubernetes lets a class be
    // assigned to such a claim later (retroactive default class assignment).
    helmOk(cluster, ['upgrade', 'gatehouse', CHART, '-n', ns, ...DEFAULTS, '--set', 'persistence.storageClass=standard']);
    assert.equal(mustGet(cluster, ns, 'persistentvolumeclaim', 'gatehouse-data').spec.storageClassName, 'standard');
    const r = cluster.helm(['upgrade', 'gatehouse', CHART, '-n', ns, ...DEFAULTS, '--set', 'persistence.storageClass=fast']);
    assert.notEqual(r.status, 0, 'changing the class succeeded');
    assert.match(r.stderr, immutableClaim);
  });

  it('nameOverride: refused when the full name stays (the Deployment selector is immutable), else every object is renamed', () => {
    const ns = 'immutable-selector';
    installed(ns);
    // The release name contains the new name, so the full name stays `gatehouse`.
    failedUpgrade(ns, ['nameOverride=gate'], /Deployment\.apps "gatehouse" is invalid: spec\.selector: Invalid value: .*field is immutable/);
    helmOk(cluster, ['upgrade', 'gatehouse', CHART, '-n', ns, ...DEFAULTS, '--set', 'nameOverride=auth']);
    const d = mustGet(cluster, ns, 'deployment', 'gatehouse-auth');
    assert.equal(d.spec.template.spec.volumes.find((v: { name: string }) => v.name === 'data').persistentVolumeClaim.claimName, 'gatehouse-auth-data', 'a new, empty volume');
    assert.equal(getObject(cluster, ns, 'deployment', 'gatehouse'), undefined);
    assert.ok(getObject(cluster, ns, 'persistentvolumeclaim', 'gatehouse-data'), 'the old volume is kept');
  });

  it('a new volume through persistence.existingClaim, the documented way to change them', () => {
    const ns = 'new-claim';
    installed(ns);
    const claim = {
      apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'gatehouse-data-2', namespace: ns },
      spec: { accessModes: ['ReadWriteOncePod'], resources: { requests: { storage: '5Gi' } } },
    };
    const created = cluster.kubectl(['apply', '-f', '-'], JSON.stringify(claim));
    assert.equal(created.status, 0, created.stderr);
    helmOk(cluster, ['upgrade', 'gatehouse', CHART, '-n', ns, ...DEFAULTS, '--set', 'persistence.existingClaim=gatehouse-data-2']);
    const d = mustGet(cluster, ns, 'deployment', 'gatehouse');
    assert.equal(d.spec.template.spec.volumes.find((v: { name: string }) => v.name === 'data').persistentVolumeClaim.claimName, 'gatehouse-data-2');
    assert.ok(getObject(cluster, ns, 'persistentvolumeclaim', 'gatehouse-data'), 'the old volume is kept for copying');
  });
});
