// A real Kubernetes control plane for the deploy tier, without a container engine: etcd and
// kube-apiserver (built by test/setup/kube.sh) on 127.0.0.1 free ports, in a temp dir. There is no
// kubelet, scheduler or controller manager, so pods never exist; what the API server decides —
// validation, defaulting, admission (Pod Security included), immutability, Helm's releases — is real.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../../helpers/cli.ts';
import { freePort } from '../../helpers/net.ts';

const TOOLS = join(ROOT, '.tools', 'bin');
/** The version test/setup/kube.sh builds; Helm checks the chart's kubeVersion against it. */
export const KUBE_VERSION = 'v1.36.3';

export interface CommandResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export interface KubeCluster {
  /** https://127.0.0.1:PORT */
  readonly server: string;
  /** A kubeconfig naming the server, its CA and a system:masters token. */
  readonly kubeconfig: string;
  /** A scratch dir removed on stop. */
  readonly dir: string;
  /** Environment for commands run by hand (a shell script): KUBECONFIG, Helm's dirs, .tools/bin first on PATH. */
  readonly env: NodeJS.ProcessEnv;
  /** kubectl (the one built with the server) against this cluster. */
  kubectl(args: string[], input?: string): CommandResult;
  /** helm (.tools/bin) against this cluster, with its own config, cache and data dirs. */
  helm(args: string[]): CommandResult;
  /** One API request (JSON in and out); resolves with the status, parsed body and warnings. */
  api(method: string, path: string, body?: unknown): Promise<{ status: number; body: any; warnings: string[] }>;
  /** A namespace enforcing (and warning and auditing) Pod Security `restricted`. */
  restrictedNamespace(name: string): void;
  /** The API server's log so far (for failure messages). */
  log(): string;
  /** Stops kube-apiserver then etcd and removes the dir; safe to call twice. */
  stop(): Promise<void>;
}

function binary(name: string): string {
  const path = name === 'etcd' ? findOnPath('etcd') : join(TOOLS, name);
  if (!path || !existsSync(path)) throw new Error(`${name} not found: run test/setup/kube.sh (test/setup/tools.sh all does; npm test runs it)`);
  return path;
}

function findOnPath(name: string): string | undefined {
  return (process.env.PATH ?? '').split(':').map((d) => join(d, name)).find((p) => existsSync(p));
}

function run(cmd: string, args: string[], options: { input?: string; env?: NodeJS.ProcessEnv } = {}): CommandResult {
  const r = spawnSync(cmd, args, { cwd: ROOT, encoding: 'utf8', input: options.input, env: options.env ?? process.env, maxBuffer: 64 * 1024 * 1024, timeout: 180_000 });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function openssl(args: string[], dir: string): void {
  const r = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl ${args.join(' ')} failed: ${r.stderr}`);
}

/** A CA, a serving certificate for 127.0.0.1 and a service-account key pair, made by openssl in `dir`. */
function makeKeys(dir: string): void {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  openssl(['req', '-x509', ...ec, '-days', '2', '-subj', '/CN=gatehouse-test-kube-ca', '-keyout', 'ca.key', '-out', 'ca.crt'], dir);
  openssl(['req', ...ec, '-subj', '/CN=kube-apiserver', '-keyout', 'server.key', '-out', 'server.csr'], dir);
  writeFileSync(join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  openssl(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-out', 'server.crt', '-extfile', 'server.ext'], dir);
  openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', 'sa.key'], dir);
  openssl(['pkey', '-in', 'sa.key', '-pubout', '-out', 'sa.pub'], dir);
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, alive: () => string | undefined, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const dead = alive();
    if (dead) throw new Error(`${what}: ${dead}`);
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not ready within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function tail(file: string, bytes = 6000): string {
  try {
    const text = readFileSync(file, 'utf8');
    return text.slice(-bytes);
  } catch {
    return '';
  }
}

const running = new Set<ChildProcess>();
const scratchDirs = new Set<string>();
// A failing or interrupted test file must not leave etcd, kube-apiserver or their files behind.
function killAll(): void {
  running.forEach((c) => c.kill('SIGKILL'));
  scratchDirs.forEach((d) => rmSync(d, { recursive: true, force: true }));
}
process.once('exit', killAll);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    killAll();
    process.exit(130);
  });
}

function start(cmd: string, args: string[], logFile: string): ChildProcess {
  const fd = openSync(logFile, 'a');
  // Logs go to a file, not a pipe: a blocked event loop (spawnSync of helm) must never stall them.
  const child = spawn(cmd, args, { stdio: ['ignore', fd, fd] });
  closeSync(fd);
  running.add(child);
  child.once('exit', () => running.delete(child));
  return child;
}

async function stopProcess(child: ChildProcess, graceMs = 20_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/** Starts etcd and kube-apiserver; call `stop()` in an `after` hook. */
export async function startKubeCluster(): Promise<KubeCluster> {
  const etcdBin = binary('etcd');
  const apiserverBin = binary('kube-apiserver');
  const kubectlBin = binary('kubectl');
  const helmBin = binary('helm');
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-kube-'));
  scratchDirs.add(dir);
  const children: ChildProcess[] = [];
  const stop = async () => {
    for (const child of children.reverse()) await stopProcess(child);
    children.length = 0;
    rmSync(dir, { recursive: true, force: true });
    scratchDirs.delete(dir);
  };
  try {
    makeKeys(dir);
    const token = randomBytes(24).toString('hex');
    writeFileSync(join(dir, 'tokens.csv'), `${token},gatehouse-test-admin,gatehouse-test-admin,"system:masters"\n`, { mode: 0o600 });
    const [etcdPort, peerPort, apiPort] = [await freePort(), await freePort(), await freePort()];

    const etcdLog = join(dir, 'etcd.log');
    const etcd = start(etcdBin, [
      '--name=default', `--data-dir=${join(dir, 'etcd')}`,
      `--listen-client-urls=http://127.0.0.1:${etcdPort}`, `--advertise-client-urls=http://127.0.0.1:${etcdPort}`,
      `--listen-peer-urls=http://127.0.0.1:${peerPort}`, `--initial-advertise-peer-urls=http://127.0.0.1:${peerPort}`,
      `--initial-cluster=default=http://127.0.0.1:${peerPort}`, '--logger=zap', '--log-outputs=stderr', '--log-level=warn',
    ], etcdLog);
    children.push(etcd);
    const exitedEarly = (child: ChildProcess, log: string) => () =>
      child.exitCode !== null || child.signalCode !== null ? `exited (${child.exitCode ?? child.signalCode}):\n${tail(log)}` : undefined;
    await until('etcd', async () => {
      const r = await fetch(`http://127.0.0.1:${etcdPort}/health`);
      return r.ok && ((await r.json()) as { health: string }).health === 'true' ? true : undefined;
    }, exitedEarly(etcd, etcdLog), 60_000);

    const apiLog = join(dir, 'kube-apiserver.log');
    const apiserver = start(apiserverBin, [
      `--etcd-servers=http://127.0.0.1:${etcdPort}`,
      '--bind-address=127.0.0.1', '--advertise-address=127.0.0.1', `--secure-port=${apiPort}`,
      `--tls-cert-file=${join(dir, 'server.crt')}`, `--tls-private-key-file=${join(dir, 'server.key')}`, `--cert-dir=${join(dir, 'certs')}`,
      `--token-auth-file=${join(dir, 'tokens.csv')}`, '--authorization-mode=RBAC',
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-account-key-file=${join(dir, 'sa.pub')}`, `--service-account-signing-key-file=${join(dir, 'sa.key')}`,
      '--service-cluster-ip-range=10.96.0.0/16', '--endpoint-reconciler-type=none',
      '--profiling=false', '--enable-priority-and-fairness=false',
    ], apiLog);
    children.push(apiserver);
    const server = `https://127.0.0.1:${apiPort}`;
    const ca = readFileSync(join(dir, 'ca.crt'));

    const api: KubeCluster['api'] = (method, path, body) =>
      new Promise((resolve, reject) => {
        const payload = body === undefined ? undefined : JSON.stringify(body);
        const req = request(`${server}${path}`, {
          method, ca, timeout: 60_000,
          headers: { authorization: `Bearer ${token}`, accept: 'application/json', ...(payload ? { 'content-type': 'application/json' } : {}) },
        }, (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (d) => (text += d));
          res.on('end', () => {
            let parsed: unknown = text;
            try {
              parsed = JSON.parse(text);
            } catch {
              // /readyz and friends answer in plain text.
            }
            const warning = res.headers.warning;
            const warnings = (Array.isArray(warning) ? warning : warning ? [warning] : []).flatMap((w) => w.split(/,(?=\s*299 )/)).map((w) => w.trim());
            resolve({ status: res.statusCode ?? 0, body: parsed, warnings });
          });
        });
        req.on('timeout', () => req.destroy(new Error(`${method} ${path}: timed out`)));
        req.on('error', reject);
        req.end(payload);
      });

    await until('kube-apiserver', async () => {
      const r = await api('GET', '/readyz');
      return r.status === 200 ? true : undefined;
    }, exitedEarly(apiserver, apiLog), 180_000);

    const kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(kubeconfig, [
      'apiVersion: v1', 'kind: Config',
      'clusters:', `- name: test`, '  cluster:', `    server: ${server}`, `    certificate-authority: ${join(dir, 'ca.crt')}`,
      'users:', '- name: admin', '  user:', `    token: ${token}`,
      'contexts:', '- name: test', '  context:', '    cluster: test', '    user: admin',
      'current-context: test', '',
    ].join('\n'), { mode: 0o600 });
    for (const d of ['helm-cache', 'helm-config', 'helm-data']) mkdirSync(join(dir, d));
    const env = {
      ...process.env, KUBECONFIG: kubeconfig, PATH: `${TOOLS}:${process.env.PATH}`,
      HELM_CACHE_HOME: join(dir, 'helm-cache'), HELM_CONFIG_HOME: join(dir, 'helm-config'), HELM_DATA_HOME: join(dir, 'helm-data'),
    };
    const kubectl: KubeCluster['kubectl'] = (args, input) => run(kubectlBin, ['--kubeconfig', kubeconfig, ...args], { input, env });
    return {
      server,
      kubeconfig,
      dir,
      env,
      kubectl,
      helm: (args) => run(helmBin, args, { env }),
      api,
      restrictedNamespace(name) {
        const labels = ['enforce', 'warn', 'audit'].map((mode) => `pod-security.kubernetes.io/${mode}=restricted`);
        for (const args of [['create', 'namespace', name], ['label', 'namespace', name, ...labels]]) {
          const r = kubectl(args);
          if (r.status !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`);
        }
      },
      log: () => tail(apiLog),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
