// values.schema.json and the chart's checks refuse what a Kubernetes API server would refuse, and
// every name the chart generates fits 63 characters for any release name Helm allows. The same
// refused values are shown to be refused by a real API server in test/e2e/deploy/.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { CHART, render, template, type K8sObject, type Overrides } from './chart.ts';
import { REFUSED_VALUES } from './refused_values.ts';

const schema = JSON.parse(readFileSync(join(CHART, 'values.schema.json'), 'utf8')) as { definitions: Record<string, { pattern: string }> };

function renderAs(release: string, overrides: Overrides = {}): K8sObject[] {
  return render(['ci/defaults-values.yaml'], overrides, release);
}

/** Release names Helm accepts: at most 53 characters, lowercase DNS labels joined by dots. */
const RELEASES = ['x'.repeat(53), 'a23456789012345678901234567890123456789012345678901.3', '1st.release', '0', 'gatehouse.prod', 'a--b'];

describe('Helm chart: values the API server would refuse are refused at template time', () => {
  for (const c of REFUSED_VALUES) {
    it(c.name, () => {
      const r = template(['ci/defaults-values.yaml'], c.values);
      assert.notEqual(r.status, 0, `helm template accepted ${JSON.stringify(c.values)}`);
      assert.match(r.stderr, c.chart);
      if (c.bypass) assert.equal(template(['ci/defaults-values.yaml'], c.bypass.values).status, 0, 'the bypass values render');
    });
  }

  it('a name starting with a digit: refused for the API servers before 1.36, which required DNS-1035 Service names', () => {
    const r = template(['ci/defaults-values.yaml'], { fullnameOverride: '1gatehouse' });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /\/fullnameOverride.*does not match pattern/);
  });

  it('accepts the valid values next to each edge', () => {
    const ok: Overrides[] = [
      { fullnameOverride: 'g'.repeat(63) },
      { nameOverride: 'auth' },
      { 'resources.requests.cpu': '700m', 'resources.limits.cpu': 0.7, 'resources.requests.memory': '512Mi', 'resources.limits.memory': 536870912 },
      { 'resources.requests.memory': '1e3', 'resources.limits.memory': '1k' },
      { 'resources.limits.memory': '1Gi', 'resources.requests.memory': null },
      { podLabels: { 'example.com/team': 'platform_security.1', empty: '' } },
      { 'podLabels.team': 'a'.repeat(63) },
      { 'networkPolicy.ingressFrom': [{ ipBlock: { cidr: '0.0.0.0/0', except: ['10.0.0.0/8'] } }, { ipBlock: { cidr: '::/0' } }, { ipBlock: { cidr: 'fd00:10:244::/64' } }] },
      { 'proxy.trustedProxies': ['10.0.0.1', '10.244.0.0/16', '::1', 'fd00::/8'] },
      { 'ingress.enabled': true, 'ingress.hosts': [{ host: '*.login.example.com', paths: [{ path: '/', pathType: 'Prefix' }] }] },
      { 'persistence.accessModes': ['ReadWriteOncePod'], 'persistence.size': '500Mi' },
      { 'probes.liveness.httpGet.port': 3000 },
      { 'secrets.existingSecret': 'gatehouse.keys-1' },
    ];
    for (const values of ok) {
      const r = template(['ci/defaults-values.yaml'], values);
      assert.equal(r.status, 0, `${JSON.stringify(values)}: ${r.stderr}`);
    }
  });

  it("the CIDR patterns agree with node:net's parser", () => {
    const cidr = new RegExp(schema.definitions.cidr!.pattern);
    const addressOrCidr = new RegExp(schema.definitions.addressOrCidr!.pattern);
    const addresses = ['0.0.0.0', '10.0.0.1', '255.255.255.255', '256.0.0.1', '01.2.3.4', '1.2.3', '::', '::1', '1::', 'fe80::1:2', '2001:db8:0:0:0:0:0:10', '2001:db8::0:10', 'a::b::c', ':::', '1:2:3:4:5:6:7:8:9', 'g::1', '10.0.0.0 '];
    for (const a of addresses) {
      const valid = isIP(a) !== 0;
      assert.equal(addressOrCidr.test(a), valid, a);
      const bits = isIP(a) === 6 ? [0, 64, 128, 129] : [0, 8, 32, 33];
      for (const b of bits) assert.equal(cidr.test(`${a}/${b}`), valid && b <= (isIP(a) === 6 ? 128 : 32), `${a}/${b}`);
    }
    assert.equal(cidr.test('10.0.0.0/08'), false, 'a prefix length with a leading zero');
  });
});

describe('Helm chart: generated names fit 63 characters for any release name Helm allows', () => {
  for (const release of RELEASES) {
    it(`release ${JSON.stringify(release)}`, () => {
      const objects = renderAs(release);
      const names = objects.map((o) => o.metadata.name);
      for (const name of names) {
        assert.ok(name.length <= 63, `${name} has ${name.length} characters`);
        assert.match(name, /^[a-z]([-a-z0-9]*[a-z0-9])?$/, `${name} is not a DNS-1035 label`);
      }
      const services = objects.filter((o) => o.kind === 'Service').map((o) => o.metadata.name);
      assert.equal(new Set(services).size, 2, services.join());
      assert.ok(services.some((n) => n.endsWith('-mtls')));
    });
  }

  it('short release names keep their names (no release is renamed by the fix)', () => {
    const names = renderAs('gh').map((o) => `${o.kind}/${o.metadata.name}`).sort();
    assert.ok(names.includes('Service/gh-gatehouse') && names.includes('Service/gh-gatehouse-mtls') && names.includes('PersistentVolumeClaim/gh-gatehouse-data'), names.join());
    const own = renderAs('gatehouse').map((o) => o.metadata.name);
    assert.ok(own.includes('gatehouse') && own.includes('gatehouse-mtls'), own.join());
  });

  it('a 63-character fullnameOverride shortens only the suffixed names', () => {
    const names = renderAs('gh', { fullnameOverride: 'g'.repeat(63) }).map((o) => `${o.kind}/${o.metadata.name}`);
    assert.ok(names.includes(`Deployment/${'g'.repeat(63)}`), names.join());
    assert.ok(names.includes(`Service/${'g'.repeat(58)}-mtls`), names.join());
    assert.ok(names.includes(`PersistentVolumeClaim/${'g'.repeat(58)}-data`), names.join());
  });
});
