import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { settings } from '../../src/config/schema.ts';
import { README, regenerated } from './chart_readme.ts';
import { ciValuesFiles, helm, CHART, KUBE_VERSION, kinds, only, render, renderNotes, template, undocumentedValues, type K8sObject, type Overrides } from './chart.ts';

const SECRET_SETTINGS = ['GATEHOUSE_COOKIE_KEYS', 'MONGODB_URI'];

function deployment(objects: K8sObject[]) {
  const d = only(objects, 'Deployment');
  const pod = d.spec.template.spec;
  const container = pod.containers.find((c: { name: string }) => c.name === 'gatehouse');
  assert.ok(container, 'a container named gatehouse');
  return { d, pod, container };
}

function assertHardened(objects: K8sObject[]): void {
  const { pod, container } = deployment(objects);
  assert.equal(pod.securityContext.runAsNonRoot, true);
  assert.ok(Number.isInteger(pod.securityContext.runAsUser) && pod.securityContext.runAsUser > 0, 'numeric non-root uid');
  assert.equal(pod.securityContext.seccompProfile.type, 'RuntimeDefault');
  assert.equal(pod.automountServiceAccountToken, false);
  const sc = container.securityContext;
  assert.equal(sc.readOnlyRootFilesystem, true);
  assert.equal(sc.allowPrivilegeEscalation, false);
  assert.equal(sc.runAsNonRoot, true);
  assert.equal(sc.privileged, false);
  assert.deepEqual(sc.capabilities.drop, ['ALL']);
  assert.equal(sc.capabilities.add, undefined);
  // A read-only root needs writable mounts exactly where the server writes.
  const mounts = Object.fromEntries(container.volumeMounts.map((m: { name: string; mountPath: string }) => [m.mountPath, m.name]));
  assert.equal(mounts['/var/lib/gatehouse'], 'data');
  assert.equal(mounts['/tmp'], 'tmp');
  const sa = objects.find((o) => o.kind === 'ServiceAccount');
  if (sa) assert.equal(sa.automountServiceAccountToken, false);
}

function assertProbes(objects: K8sObject[]): void {
  const { container } = deployment(objects);
  const ports = Object.fromEntries(container.ports.map((p: { name: string; containerPort: number }) => [p.name, p.containerPort]));
  assert.equal(ports.http, 3000);
  assert.equal(container.startupProbe.httpGet.path, '/healthz/live');
  assert.equal(container.livenessProbe.httpGet.path, '/healthz/live');
  assert.equal(container.readinessProbe.httpGet.path, '/healthz/ready');
  for (const probe of [container.startupProbe, container.livenessProbe, container.readinessProbe]) assert.equal(probe.httpGet.port, 'http');
}

/** No ConfigMap carries a secret setting, and secret settings reach the pod only by Secret reference. */
function assertSecretsStayInSecrets(objects: K8sObject[]): void {
  for (const cm of objects.filter((o) => o.kind === 'ConfigMap')) {
    for (const key of Object.keys(cm.data ?? {})) {
      assert.ok(!SECRET_SETTINGS.includes(key), `ConfigMap ${cm.metadata.name} holds the secret ${key}`);
    }
  }
  const { container } = deployment(objects);
  for (const env of container.env ?? []) {
    if (SECRET_SETTINGS.includes(env.name)) {
      assert.equal(env.value, undefined, `${env.name} given as a literal value`);
      assert.ok(env.valueFrom?.secretKeyRef?.name, `${env.name} comes from a Secret`);
    }
  }
}

function configMap(objects: K8sObject[]): Record<string, string> {
  return only(objects, 'ConfigMap').data;
}

function failureOf(set: Overrides, files = ['ci/defaults-values.yaml']): string {
  const r = template(files, set);
  assert.notEqual(r.status, 0, `expected helm template to fail for ${JSON.stringify(set)}`);
  return r.stderr;
}

describe('Helm chart: lint and template every ci values file', () => {
  const files = ciValuesFiles();

  it('has the ci values files the deployment needs exercised', () => {
    for (const name of ['defaults', 'production-existing-secret', 'mongodb-ha', 'forwarded-certificate']) {
      assert.ok(files.includes(`ci/${name}-values.yaml`), `cd/helm/ci/${name}-values.yaml`);
    }
  });

  for (const file of files) {
    it(`${file}: helm lint --strict passes`, () => {
      const r = helm(['lint', '--strict', '--kube-version', KUBE_VERSION, CHART, '-f', `${CHART}/${file}`]);
      assert.equal(r.status, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
    });

    it(`${file}: renders a hardened Deployment with probes, services and no secret in a ConfigMap`, () => {
      const objects = render([file]);
      assertHardened(objects);
      assertProbes(objects);
      assertSecretsStayInSecrets(objects);
      const { d } = deployment(objects);
      assert.match(d.spec.template.metadata.annotations['checksum/config'], /^[0-9a-f]{64}$/);
      assert.deepEqual(d.spec.template.spec.containers[0].args, ['serve']);
      assert.ok(objects.some((o) => o.kind === 'Service' && o.spec.ports[0].targetPort === 'http'), 'public Service');
      assert.ok(objects.some((o) => o.kind === 'Service' && o.spec.ports[0].targetPort === 'mtls'), 'separate mTLS Service');
      assert.equal(configMap(objects).GATEHOUSE_HOST, '0.0.0.0');
    });
  }
});

describe('Helm chart: replica rules', () => {
  it('defaults: one pod on SQLite with a volume, replaced (Recreate), no PDB or HPA', () => {
    const objects = render(['ci/defaults-values.yaml']);
    const { d, pod } = deployment(objects);
    assert.equal(d.spec.replicas, 1);
    assert.equal(d.spec.strategy.type, 'Recreate');
    assert.equal(configMap(objects).GATEHOUSE_STORE, 'sqlite');
    const data = pod.volumes.find((v: { name: string }) => v.name === 'data');
    assert.equal(data.persistentVolumeClaim.claimName, only(objects, 'PersistentVolumeClaim').metadata.name);
    assert.ok(!objects.some((o) => o.kind === 'PodDisruptionBudget' || o.kind === 'HorizontalPodAutoscaler'), kinds(objects).join());
  });

  it('the grace period covers the drain delay plus the shutdown timeout', () => {
    const objects = render(['ci/defaults-values.yaml'], { shutdownDrainDelaySeconds: 12, shutdownTimeoutSeconds: 40 });
    const cm = configMap(objects);
    assert.equal(cm.GATEHOUSE_SHUTDOWN_DRAIN_DELAY, '12s');
    assert.equal(cm.GATEHOUSE_SHUTDOWN_TIMEOUT, '40s');
    assert.ok(deployment(objects).pod.terminationGracePeriodSeconds > 12 + 40);
    assert.match(failureOf({ 'config.GATEHOUSE_SHUTDOWN_DRAIN_DELAY': '1s' }), /set by a dedicated value/);
  });

  it('replicaCount > 1 without MongoDB fails at template time with a clear message', () => {
    const err = failureOf({ replicaCount: 3 });
    assert.match(err, /replicaCount=3 needs `store\.type: mongodb`/);
    assert.match(err, /flow started on one pod fails on another/);
  });

  it('autoscaling without MongoDB fails at template time with a clear message', () => {
    assert.match(failureOf({ 'autoscaling.enabled': true }), /autoscaling needs `store\.type: mongodb`/);
  });

  it('MongoDB: three replicas with an HPA and a PDB, rolling updates, the URI from the Secret', () => {
    const objects = render(['ci/mongodb-ha-values.yaml']);
    const { d, container } = deployment(objects);
    assert.equal(d.spec.replicas, undefined, 'the HPA owns replicas');
    assert.notEqual(d.spec.strategy?.type, 'Recreate');
    const hpa = only(objects, 'HorizontalPodAutoscaler');
    assert.equal(hpa.spec.minReplicas, 3);
    assert.equal(hpa.spec.scaleTargetRef.name, d.metadata.name);
    assert.equal(only(objects, 'PodDisruptionBudget').spec.minAvailable, 2);
    assert.equal(configMap(objects).GATEHOUSE_STORE, 'mongodb');
    const uri = container.env.find((e: { name: string }) => e.name === 'MONGODB_URI');
    const opaque = objects.filter((o) => o.kind === 'Secret' && o.type === 'Opaque');
    assert.equal(opaque.length, 1);
    assert.equal(uri.valueFrom.secretKeyRef.name, opaque[0]!.metadata.name);
    assert.ok(opaque[0]!.data['mongodb-uri'], 'the chart-created Secret holds the URI');
  });

  it('metrics stay inside the pod by default; exposed, only the admin port opens, to the named scrapers', () => {
    const closed = render(['ci/defaults-values.yaml']);
    assert.equal(configMap(closed).GATEHOUSE_ADMIN_HOST, '127.0.0.1');
    assert.ok(!deployment(closed).container.ports.some((p: { name: string }) => p.name === 'metrics'));
    const open = render(['ci/mongodb-ha-values.yaml']);
    assert.equal(configMap(open).GATEHOUSE_ADMIN_HOST, '0.0.0.0');
    assert.equal(configMap(open).GATEHOUSE_ADMIN_PORT, '9464');
    assert.ok(deployment(open).container.ports.some((p: { name: string; containerPort: number }) => p.name === 'metrics' && p.containerPort === 9464));
    const rules = only(open, 'NetworkPolicy').spec.ingress as Array<{ ports: Array<{ port: string }>; from?: unknown[] }>;
    const metricsRule = rules.find((r) => r.ports.some((p) => p.port === 'metrics'));
    assert.ok(metricsRule?.from?.length, 'scraping limited to the configured peers');
    assert.ok(!rules.some((r) => r !== metricsRule && r.ports.some((p) => p.port === 'metrics')));
    assert.ok(!open.some((o) => o.kind === 'Service' && o.spec.ports.some((p: { targetPort: string }) => p.targetPort === 'metrics')), 'no Service publishes metrics');
  });

  it('MongoDB without autoscaling keeps replicaCount and gets a PDB', () => {
    const objects = render(['ci/mongodb-ha-values.yaml'], { 'autoscaling.enabled': false });
    assert.equal(deployment(objects).d.spec.replicas, 3);
    assert.ok(objects.some((o) => o.kind === 'PodDisruptionBudget'));
    assert.ok(!objects.some((o) => o.kind === 'HorizontalPodAutoscaler'));
  });

  it('store.type mongodb without a URI fails', () => {
    assert.match(failureOf({ 'store.type': 'mongodb' }), /store\.type is mongodb: set store\.mongodb\.uri/);
  });
});

describe('Helm chart: secrets', () => {
  // Marker values: each must appear only inside Secret objects (base64), nowhere else.
  const markers = {
    jwks: '{"keys":[{"kty":"RSA","d":"MARKER-JWKS-d0c5a1"}]}',
    cookie: 'MARKER-COOKIE-0123456789abcdef0123456789',
    mongo: 'mongodb://u:MARKER-MONGO-PASSWORD@db/gatehouse',
    cert: '-----BEGIN CERTIFICATE-----\nMARKER-CERT\n-----END CERTIFICATE-----\n',
    key: 'MARKER-TLS-KEY',
    ca: '-----BEGIN CERTIFICATE-----\nMARKER-CA\n-----END CERTIFICATE-----\n',
  };
  const inline = {
    mode: 'production',
    issuer: 'https://login.example.com',
    'secrets.jwks': markers.jwks,
    'secrets.cookieKeys': [markers.cookie],
    'store.type': 'mongodb',
    'store.mongodb.uri': markers.mongo,
    'mtls.tls.cert': markers.cert,
    'mtls.tls.key': markers.key,
    'mtls.tls.ca': markers.ca,
  };

  it('chart-created secrets land only in Secrets, and reach the pod by reference or as files', () => {
    const objects = render(['ci/defaults-values.yaml'], inline);
    for (const o of objects) {
      const text = JSON.stringify(o);
      for (const [name, value] of Object.entries(markers)) {
        const marker = value.match(/MARKER-[A-Z-]+/)![0];
        assert.ok(!text.includes(marker), `${o.kind}/${o.metadata.name} shows ${name} in clear`);
        if (o.kind !== 'Secret') assert.ok(!text.includes(Buffer.from(value).toString('base64')), `${o.kind}/${o.metadata.name} holds ${name}`);
      }
    }
    const opaque = objects.find((o) => o.kind === 'Secret' && o.type === 'Opaque')!;
    const decoded = Object.fromEntries(Object.entries(opaque.data as Record<string, string>).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]));
    assert.deepEqual(decoded, { 'jwks.json': markers.jwks, 'cookie-keys': markers.cookie, 'mongodb-uri': markers.mongo });
    const tls = objects.find((o) => o.kind === 'Secret' && o.type === 'kubernetes.io/tls')!;
    assert.equal(Buffer.from(tls.data['tls.key'], 'base64').toString(), markers.key);

    const { pod, container } = deployment(objects);
    assertSecretsStayInSecrets(objects);
    assert.equal(configMap(objects).GATEHOUSE_JWKS_FILE, '/etc/gatehouse/keys/jwks.json');
    const keys = pod.volumes.find((v: { name: string }) => v.name === 'keys');
    assert.equal(keys.secret.secretName, opaque.metadata.name);
    assert.deepEqual(keys.secret.items, [{ key: 'jwks.json', path: 'jwks.json' }]);
    assert.equal(keys.secret.defaultMode, 0o440, 'keys readable by the pod user and group only');
    // The certs dir is the TLS Secret mounted whole (no subPath, so cert-manager rotations arrive).
    const certs = pod.volumes.find((v: { name: string }) => v.name === 'certs');
    assert.equal(certs.secret.secretName, tls.metadata.name);
    assert.deepEqual(certs.secret.items.map((i: { key: string; path: string }) => `${i.key}>${i.path}`), ['tls.crt>server.crt', 'tls.key>server.key', 'ca.crt>root_ca.crt']);
    const mount = container.volumeMounts.find((m: { name: string }) => m.name === 'certs');
    assert.equal(mount.mountPath, configMap(objects).GATEHOUSE_CERTS_DIR);
    assert.equal(mount.subPath, undefined);
    assert.equal(mount.readOnly, true);
  });

  it('a secret change rolls the pods (checksum annotations)', () => {
    const a = deployment(render(['ci/mongodb-ha-values.yaml'])).d.spec.template.metadata.annotations;
    const b = deployment(render(['ci/mongodb-ha-values.yaml'], { 'secrets.cookieKeys[0]': 'another-cookie-key-0123456789abcdefghij' })).d.spec.template.metadata.annotations;
    const c = deployment(render(['ci/mongodb-ha-values.yaml'], { logLevel: 'debug' })).d.spec.template.metadata.annotations;
    assert.notEqual(a['checksum/secret'], b['checksum/secret']);
    assert.equal(a['checksum/config'], b['checksum/config']);
    assert.notEqual(a['checksum/config'], c['checksum/config']);
  });

  it('existingSecret: the chart creates no Secret and every secret comes from the named ones', () => {
    const objects = render(['ci/production-existing-secret-values.yaml']);
    assert.ok(!objects.some((o) => o.kind === 'Secret'), kinds(objects).join());
    const { pod, container } = deployment(objects);
    const cookie = container.env.find((e: { name: string }) => e.name === 'GATEHOUSE_COOKIE_KEYS');
    assert.deepEqual(cookie.valueFrom.secretKeyRef, { name: 'gatehouse-keys', key: 'cookie-keys' });
    const secretNames = pod.volumes.filter((v: { secret?: unknown }) => v.secret).map((v: { secret: { secretName: string } }) => v.secret.secretName).sort();
    assert.deepEqual(secretNames, ['gatehouse-clients', 'gatehouse-connectors', 'gatehouse-keys', 'gatehouse-mtls-tls']);
    assert.equal(container.image, 'registry.example.com/gatehouse@sha256:' + '0'.repeat(64));
    assert.equal(configMap(objects).GATEHOUSE_CLIENTS_FILE, '/etc/gatehouse/clients/clients.json');
  });

  it('existingSecret together with inline secret values fails (never both)', () => {
    const err = failureOf({ 'secrets.cookieKeys[0]': 'x'.repeat(40) }, ['ci/production-existing-secret-values.yaml']);
    assert.match(err, /secrets\.existingSecret is set, so secrets\.jwks, secrets\.cookieKeys and store\.mongodb\.uri must stay empty/);
    assert.match(failureOf({ 'mtls.tls.cert': 'PEM', 'mtls.tls.key': 'PEM', 'mtls.tls.ca': 'PEM' }, ['ci/production-existing-secret-values.yaml']), /mtls\.tls\.existingSecret is set/);
  });

  it('production without signing keys, cookie keys or the mTLS certificate fails, naming the value', () => {
    const base = { mode: 'production', issuer: 'https://login.example.com' };
    assert.match(failureOf(base), /production mode needs signing keys/);
    assert.match(failureOf({ ...base, 'secrets.jwks': '{}' }), /production mode needs cookie keys/);
    assert.match(failureOf({ ...base, 'secrets.existingSecret': 'k' }), /needs the server certificate and client CA/);
    assert.match(failureOf({ mode: 'production' }), /production mode needs an https `issuer`/);
  });

  it('config passes any setting through the ConfigMap but refuses secrets', () => {
    const objects = render(['ci/defaults-values.yaml'], { 'config.GATEHOUSE_DEVICE_CODE_TTL': '10m' });
    assert.equal(configMap(objects).GATEHOUSE_DEVICE_CODE_TTL, '10m');
    for (const key of ['GATEHOUSE_COOKIE_KEYS', 'MONGODB_URI', 'GATEHOUSE_ADMIN_TOKEN', 'GATEHOUSE_SMTP_PASSWORD']) {
      assert.match(failureOf({ [`config.${key}`]: 'value' }), new RegExp(`config\\.${key} is a secret and would land in a ConfigMap`));
    }
    assert.match(failureOf({ 'config.GATEHOUSE_ISSUER': 'https://elsewhere.example' }), /set by a dedicated value/);
  });

  it('connectors.existingSecret mounts every key of that Secret (connectors file, LDAP CA, service password) and points GATEHOUSE_CONNECTORS_FILE at it', () => {
    const objects = render(['ci/defaults-values.yaml'], { 'connectors.existingSecret': 'corp-directory', 'connectors.key': 'sso.json' });
    assert.equal(configMap(objects).GATEHOUSE_CONNECTORS_FILE, '/etc/gatehouse/connectors/sso.json');
    const pod = only(objects, 'Deployment').spec.template.spec;
    const volume = pod.volumes.find((v: { name: string }) => v.name === 'connectors');
    assert.deepEqual(volume.secret, { secretName: 'corp-directory', defaultMode: 0o440 });
    const mount = pod.containers[0].volumeMounts.find((m: { name: string }) => m.name === 'connectors');
    assert.deepEqual(mount, { name: 'connectors', mountPath: '/etc/gatehouse/connectors', readOnly: true });
    assert.equal(configMap(render(['ci/defaults-values.yaml'])).GATEHOUSE_CONNECTORS_FILE, undefined);
    assert.match(failureOf({ 'config.GATEHOUSE_CONNECTORS_FILE': '/x.json' }), /set by a dedicated value/);
  });

  it('config accepts every non-secret setting without a dedicated value (token lifetimes and token rate limits are not secrets) and refuses every secret one', () => {
    const dedicated = /set by a dedicated value/;
    const accepted: string[] = [];
    for (const s of Object.values(settings)) {
      const r = template(['ci/defaults-values.yaml'], { [`config.${s.env}`]: '1' });
      if (s.secret) {
        assert.match(r.stderr, new RegExp(`config\\.${s.env} is a secret`), s.env);
      } else if (r.status !== 0) {
        assert.match(r.stderr, dedicated, `${s.env} refused: ${r.stderr}`);
      } else {
        accepted.push(s.env);
      }
    }
    for (const env of ['GATEHOUSE_ACCESS_TOKEN_TTL', 'GATEHOUSE_REFRESH_TOKEN_TTL', 'GATEHOUSE_ID_TOKEN_TTL', 'GATEHOUSE_TOKEN_RATE_LIMIT_IP', 'GATEHOUSE_LOCAL_ACCOUNTS']) {
      assert.ok(accepted.includes(env), `${env} should pass through config`);
    }
  });

  it('values.schema.json rejects unknown keys and bad values', () => {
    assert.match(failureOf({ replicas: 2 }), /additional properties 'replicas' not allowed/);
    assert.match(failureOf({ 'store.type': 'postgres' }), /store\.type|value must be one of/);
    assert.match(failureOf({ 'secrets.cookieKeys[0]': 'short' }), /cookieKeys/);
  });
});

describe('Helm chart: mTLS exposure', () => {
  it('the mTLS Service passes TLS through to the pod and keeps client addresses', () => {
    const objects = render(['ci/production-existing-secret-values.yaml']);
    const svc = objects.find((o) => o.kind === 'Service' && o.metadata.name.endsWith('-mtls'))!;
    assert.equal(svc.spec.type, 'LoadBalancer');
    assert.equal(svc.spec.externalTrafficPolicy, 'Local');
    assert.equal(svc.spec.ports[0].targetPort, 'mtls');
    const { container } = deployment(objects);
    assert.ok(container.ports.some((p: { name: string; containerPort: number }) => p.name === 'mtls' && p.containerPort === 3443));
    assert.equal(configMap(objects).GATEHOUSE_MTLS_ORIGIN, 'https://mtls.login.example.com');
    const np = only(objects, 'NetworkPolicy');
    assert.deepEqual(np.spec.ingress[0].ports.map((p: { port: string }) => p.port), ['http', 'mtls']);
  });

  it('forwarded-certificate mode: header setting, trusted proxies, an Ingress for the mTLS origin', () => {
    const objects = render(['ci/forwarded-certificate-values.yaml']);
    const cm = configMap(objects);
    assert.equal(cm.GATEHOUSE_CLIENT_CERT_HEADER, 'ssl-client-cert');
    assert.equal(cm.GATEHOUSE_TRUST_PROXY, 'true');
    assert.equal(cm.GATEHOUSE_TRUSTED_PROXIES, '10.244.0.0/16');
    const ingress = objects.filter((o) => o.kind === 'Ingress');
    const mtls = ingress.find((o) => o.spec.rules[0].host === 'mtls.login.example.com')!;
    assert.equal(mtls.metadata.annotations?.['nginx.ingress.kubernetes.io/auth-tls-pass-certificate-to-upstream'], 'true');
    assert.equal(mtls.spec.rules[0].http.paths[0].backend.service.port.name, 'http');
  });

  it('forwarded certificates without trusted proxies fail (anyone could forge the header)', () => {
    const err = failureOf({ 'proxy.trustedProxies': [] }, ['ci/forwarded-certificate-values.yaml']);
    assert.match(err, /mtls\.forwardedCertificate needs proxy\.trust=true and proxy\.trustedProxies/);
  });
});

describe('Helm chart: values documentation', () => {
  const text = readFileSync(join(CHART, 'values.yaml'), 'utf8');

  it('documents every key of values.yaml with a `# --` comment', () => {
    assert.deepEqual(undocumentedValues(text), []);
    // The check itself notices a key without one.
    assert.deepEqual(undocumentedValues('# -- documented\na: 1\nb:\n  # -- documented\n  c: 1\n  d: 2\n'), ['b.d']);
  });

  it('cd/helm/README.md lists every documented value (regenerate: node test/deploy/chart_readme.ts --write)', () => {
    const readme = readFileSync(README, 'utf8');
    assert.equal(readme, regenerated(readme));
    assert.match(readme, /\| `store\.type` \| string \| `"sqlite"` \|/);
  });

  it('values.schema.json covers every top-level key of values.yaml and allows no others', () => {
    const schema = JSON.parse(readFileSync(join(CHART, 'values.schema.json'), 'utf8')) as { additionalProperties: boolean; properties: Record<string, unknown> };
    const keys = [...text.matchAll(/^([A-Za-z][A-Za-z0-9]*):/gm)].map((m) => m[1]!);
    assert.deepEqual(keys.filter((k) => !(k in schema.properties)), []);
    assert.deepEqual(Object.keys(schema.properties).filter((k) => !keys.includes(k)), []);
    assert.equal(schema.additionalProperties, false);
  });
});

describe('Helm chart: NOTES.txt', () => {
  it('tells how to reach the server and register a client with curl (open registration in development)', () => {
    const notes = renderNotes(['ci/defaults-values.yaml']);
    assert.match(notes, /kubectl -n auth port-forward service\/gh-gatehouse 3000:80/);
    assert.match(notes, /curl -s http:\/\/localhost:3000\/\.well-known\/openid-configuration/);
    assert.match(notes, /port-forward service\/gh-gatehouse-mtls 3443:443/);
    assert.match(notes, /-d '\{"client_name":"my-cli".*\}' \\\n\s+http:\/\/localhost:3000\/reg/s);
    assert.doesNotMatch(notes, /registration-token/);
    assert.match(notes, /WARNING: development mode/);
  });

  it('uses an initial access token when registration is protected (production)', () => {
    const notes = renderNotes(['ci/production-existing-secret-values.yaml']);
    assert.match(notes, /TOKEN=\$\(kubectl -n auth exec deploy\/gh-gatehouse -- node bin\/gatehouse\.js registration-token create/);
    assert.match(notes, /-H "Authorization: Bearer \$TOKEN"/);
    assert.match(notes, /device_endpoint at https:\/\/login\.example\.com\/device\/auth/);
    assert.doesNotMatch(notes, /WARNING/);
  });
});
