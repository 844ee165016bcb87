// Values the chart must refuse because a Kubernetes API server refuses what they render. The unit
// tests (test/deploy/chart_schema.test.ts) check that `helm template` fails on each with a message
// naming the value; the deploy tier (test/e2e/deploy/) renders the same values past the chart's
// checks and shows that a real API server refuses the objects, so the table cannot drift into
// refusing things the server would accept, or accepting things it refuses.
import type { K8sObject, Overrides } from './chart.ts';

export interface RefusedValue {
  /** What is wrong, as a test name. */
  name: string;
  /** Values on top of `ci/defaults-values.yaml`. */
  values: Overrides;
  /** `helm template`'s message. */
  chart: RegExp;
  /** The API server's message for the rendered objects. */
  server: RegExp;
  /**
   * For a refusal by the chart's templates (not the schema, which `--skip-schema-validation` skips):
   * values that render, and the change that makes the rendered objects carry the refused value.
   */
  bypass?: { values: Overrides; mutate: (objects: K8sObject[]) => void };
}

const MONGODB = { 'store.type': 'mongodb', 'store.mongodb.uri': 'mongodb://db.example/gatehouse', replicaCount: 2 };

function container(objects: K8sObject[]) {
  const deployment = objects.find((o) => o.kind === 'Deployment');
  if (!deployment) throw new Error('no Deployment rendered');
  return deployment.spec.template.spec.containers[0];
}

export const REFUSED_VALUES: RefusedValue[] = [
  {
    name: 'an uppercase fullnameOverride (Service names are DNS-1035 labels)',
    values: { fullnameOverride: 'Gatehouse' },
    chart: /\/fullnameOverride.*does not match pattern/,
    server: /Service "Gatehouse" is invalid: metadata\.name: Invalid value: "Gatehouse": a lowercase RFC 1123 label/,
  },
  {
    name: 'a nameOverride with a dot',
    values: { nameOverride: 'gate.house' },
    chart: /\/nameOverride.*does not match pattern/,
    server: /Service "gh-gate\.house" is invalid: metadata\.name: Invalid value/,
  },
  {
    name: 'a memory request above its limit',
    values: { 'resources.requests.memory': '1Gi', 'resources.limits.memory': '512Mi' },
    chart: /resources\.requests\.memory \(1Gi\) is more than resources\.limits\.memory \(512Mi\)/,
    server: /resources\.requests: Invalid value: "1Gi": must be less than or equal to memory limit of 512Mi/,
    bypass: {
      values: { 'resources.requests.memory': '512Mi', 'resources.limits.memory': '512Mi' },
      mutate: (objects) => void (container(objects).resources.requests.memory = '1Gi'),
    },
  },
  {
    name: 'a CPU request above its limit, in other units',
    values: { 'resources.requests.cpu': 1.5, 'resources.limits.cpu': '1000m' },
    chart: /resources\.requests\.cpu \(1\.5\) is more than resources\.limits\.cpu \(1000m\)/,
    server: /resources\.requests: Invalid value: "1500m": must be less than or equal to cpu limit of 1/,
    bypass: {
      values: { 'resources.requests.cpu': '1000m', 'resources.limits.cpu': '1000m' },
      mutate: (objects) => void (container(objects).resources.requests.cpu = '1500m'),
    },
  },
  {
    name: 'a negative resource quantity',
    values: { 'resources.requests.cpu': '-1' },
    chart: /\/resources\/requests\/cpu.*does not match pattern/,
    server: /resources\.requests\[cpu\]: Invalid value: "-1": must be greater than or equal to 0/,
  },
  {
    name: 'a pod label value with a space',
    values: { 'podLabels.team': 'platform security' },
    chart: /\/podLabels\/team.*does not match pattern/,
    server: /spec\.template\.labels: Invalid value: "platform security"/,
  },
  {
    name: 'a pod label key with a space',
    values: { podLabels: { 'my team': 'platform' } },
    chart: /invalid propertyName 'my team'/,
    server: /spec\.template\.labels: Invalid value: "my team"/,
  },
  {
    name: 'a pod annotation key with two slashes',
    values: { podAnnotations: { 'example.com/a/b': 'x' } },
    chart: /invalid propertyName 'example\.com\/a\/b'/,
    server: /spec\.template\.annotations: Invalid value: "example\.com\/a\/b"/,
  },
  {
    name: 'a nodeSelector value longer than 63 characters',
    values: { nodeSelector: { zone: 'z'.repeat(64) } },
    chart: /\/nodeSelector\/zone.*does not match pattern/,
    server: /nodeSelector: Invalid value: "z{64}": must be no more than 63 bytes/,
  },
  {
    name: 'a /33 IPv4 CIDR in a NetworkPolicy peer',
    values: { 'networkPolicy.ingressFrom': [{ ipBlock: { cidr: '10.0.0.0/33' } }] },
    chart: /\/networkPolicy\/ingressFrom\/0\/ipBlock\/cidr.*does not match pattern/,
    server: /ipBlock\.cidr: Invalid value: "10\.0\.0\.0\/33"/,
  },
  {
    name: 'an IPv6 CIDR longer than /128 in an egress rule',
    values: { 'networkPolicy.egress': [{ to: [{ ipBlock: { cidr: 'fd00::/129' } }] }] },
    chart: /\/networkPolicy\/egress\/0\/to\/0\/ipBlock\/cidr.*does not match pattern/,
    server: /ipBlock\.cidr: Invalid value: "fd00::\/129"/,
  },
  {
    name: 'In without values in a scraper selector',
    values: { 'metrics.expose': true, 'metrics.scrapeFrom': [{ namespaceSelector: { matchExpressions: [{ key: 'team', operator: 'In' }] } }] },
    chart: /\/metrics\/scrapeFrom\/0\/namespaceSelector\/matchExpressions\/0.*values/,
    server: /values: Required value: must be specified when `operator` is 'In' or 'NotIn'/,
  },
  {
    name: 'an uppercase Ingress host',
    values: { 'ingress.enabled': true, 'ingress.hosts': [{ host: 'Login.example.com', paths: [{ path: '/', pathType: 'Prefix' }] }] },
    chart: /\/ingress\/hosts\/0\/host.*does not match pattern/,
    server: /spec\.rules\[0\]\.host: Invalid value: "Login\.example\.com": a lowercase RFC 1123 subdomain/,
  },
  {
    name: 'an IP address as the mTLS Ingress host',
    values: { mode: 'development', 'mtls.forwardedCertificate.enabled': true, 'proxy.trust': true, 'proxy.trustedProxies': ['10.0.0.0/8'], 'mtlsIngress.enabled': true, 'mtlsIngress.host': '192.0.2.10' },
    chart: /at '\/mtlsIngress\/host': 'not' failed/,
    server: /spec\.rules\[0\]\.host: Invalid value: "192\.0\.2\.10": must be a DNS name, not an IP address/,
  },
  {
    name: 'an Ingress path that is not absolute',
    values: { 'ingress.enabled': true, 'ingress.hosts': [{ host: 'login.example.com', paths: [{ path: 'login', pathType: 'Prefix' }] }] },
    chart: /\/ingress\/hosts\/0\/paths\/0\/path.*does not match pattern/,
    server: /path: Invalid value: "login": must be an absolute path/,
  },
  {
    name: 'an uppercase IngressClass name',
    values: { 'ingress.enabled': true, 'ingress.className': 'Nginx' },
    chart: /\/ingress\/className.*does not match pattern/,
    server: /spec\.ingressClassName: Invalid value: "Nginx"/,
  },
  {
    name: 'ReadWriteOncePod together with another access mode',
    values: { 'persistence.accessModes': ['ReadWriteOncePod', 'ReadWriteOnce'] },
    chart: /\/persistence\/accessModes.*maxItems/,
    server: /spec\.accessModes: Forbidden: may not use ReadWriteOncePod with other access modes/,
  },
  {
    name: 'a zero persistence size',
    values: { 'persistence.size': '0Gi' },
    chart: /\/persistence\/size.*does not match pattern/,
    server: /spec\.resources\[storage\]: Invalid value: "0": must be greater than zero/,
  },
  {
    name: 'an existingSecret name with an underscore',
    values: { 'secrets.existingSecret': 'gatehouse_keys' },
    chart: /\/secrets\/existingSecret.*does not match pattern/,
    server: /secretKeyRef\.name: Invalid value: "gatehouse_keys": a lowercase RFC 1123 subdomain/,
  },
  {
    name: 'a Secret key with a space',
    values: { 'secrets.keys.jwks': 'jwks json', 'secrets.jwks': '{"keys":[]}' },
    chart: /\/secrets\/keys\/jwks.*does not match pattern/,
    server: /Invalid value: "jwks json": a valid config key must consist of alphanumeric characters/,
  },
  {
    name: 'a ServiceAccount name with an uppercase letter',
    values: { 'serviceAccount.name': 'Gatehouse' },
    chart: /\/serviceAccount\/name.*does not match pattern/,
    server: /ServiceAccount "Gatehouse" is invalid: metadata\.name: Invalid value: "Gatehouse"/,
  },
  {
    name: 'a probe port name that is not an IANA service name',
    values: { 'probes.liveness.httpGet.port': 'HTTP' },
    chart: /\/probes\/liveness\/httpGet\/port/,
    server: /livenessProbe\.httpGet\.port: Invalid value: "HTTP": must contain only alpha-numeric characters \(a-z, 0-9\)/,
  },
  {
    name: 'a PodDisruptionBudget minAvailable that is neither a number nor a percentage',
    values: { ...MONGODB, 'podDisruptionBudget.minAvailable': 'half' },
    chart: /\/podDisruptionBudget\/minAvailable/,
    server: /spec\.minAvailable: Invalid value: "half"/,
  },
  {
    name: 'an extra environment variable name with =',
    values: { extraEnv: [{ name: 'A=B', value: 'x' }] },
    chart: /\/extraEnv\/0\/name.*does not match pattern/,
    server: /env\[\d+\]\.name: Invalid value: "A=B"/,
  },
];
