import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { createInterface } from 'node:readline';
import { after, describe, it } from 'node:test';
import { initDevPki } from '../../../src/pki/dev_pki.ts';
import { generateSigningKey } from '../../../src/keys/key_generation.ts';
import { cleanEnv, ROOT } from '../../helpers/cli.ts';
import { freePort } from '../../helpers/server.ts';
import { copies, globalArgs, parseDockerfile, stageEnv } from '../../deploy/dockerfile.ts';

const instructions = parseDockerfile();
const finalStage = Math.max(...instructions.map((i) => i.stage));
const final = instructions.filter((i) => i.stage === finalStage);
const last = (keyword: string) => final.filter((i) => i.keyword === keyword).at(-1);
const UID = 10001;

/** .dockerignore semantics: patterns in order, the last match wins, `!` re-includes, a match on a directory covers its files. */
function dockerignore(): (path: string) => boolean {
  const rules = readFileSync(join(ROOT, '.dockerignore'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => {
      const negate = l.startsWith('!');
      const pattern = (negate ? l.slice(1) : l).replace(/\/+$/, '');
      const source = pattern
        .split('/')
        .map((seg) => (seg === '**' ? '.*' : seg.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]')))
        .join('/')
        .replace(/^\.\*\//, '(?:.*/)?');
      return { negate, re: new RegExp(`^${source}$`) };
    });
  return (path) => {
    const prefixes = path.split('/').map((_, i, parts) => parts.slice(0, i + 1).join('/'));
    let excluded = false;
    for (const rule of rules) if (prefixes.some((p) => rule.re.test(p))) excluded = !rule.negate;
    return excluded;
  };
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(ROOT, join(e.parentPath, e.name)));
}

describe('ci/Dockerfile', () => {
  it('builds on an official Node 24 slim image pinned by digest, in several stages', () => {
    const args = globalArgs(instructions);
    const froms = instructions.filter((i) => i.keyword === 'FROM');
    assert.ok(froms.length >= 2, 'multi-stage');
    for (const from of froms) {
      const image = from.args.split(/\s+/)[0]!.replace(/^\$\{?(\w+)\}?$/, (_, name: string) => args[name] ?? `unset ARG ${name}`);
      assert.match(image, /^(docker\.io\/(library\/)?)?node:24[\w.-]*-slim@sha256:[0-9a-f]{64}$/, `FROM ${from.args}`);
    }
    const deps = instructions.filter((i) => i.keyword === 'RUN' && i.stage < finalStage).map((i) => i.args).join('\n');
    assert.match(deps, /npm ci --omit=dev/);
    assert.ok(copies(instructions, finalStage).some((c) => c.from && c.sources.includes('/app/node_modules')), 'node_modules from the deps stage');
  });

  it('runs as a numeric non-root user and starts `gatehouse serve` with a health check on /healthz/live', () => {
    const user = last('USER');
    assert.ok(user, 'USER in the final stage');
    const [uid, gid] = user.args.split(':').map(Number);
    assert.equal(uid, UID);
    assert.ok(gid !== undefined && gid > 0);
    assert.ok(final.indexOf(user) > final.findLastIndex((i) => i.keyword === 'RUN'), 'no RUN as root after USER is dropped');
    assert.deepEqual(last('ENTRYPOINT')?.exec, ['node', 'bin/gatehouse.js']);
    assert.deepEqual(last('CMD')?.exec, ['serve']);
    const health = last('HEALTHCHECK');
    assert.ok(health?.exec?.join(' ').includes('/healthz/live'), health?.args);
    const env = stageEnv(instructions, finalStage);
    assert.equal(env.GATEHOUSE_HOST, '0.0.0.0');
    assert.equal(env.GATEHOUSE_DATA_DIR, '/var/lib/gatehouse');
  });

  it('copies no secrets, development certificates, data, tests or .env, and the build context excludes them', () => {
    const isIgnored = dockerignore();
    const contextSources = copies(instructions, finalStage).concat(copies(instructions, 0)).filter((c) => !c.from).flatMap((c) => c.sources);
    assert.ok(contextSources.length > 0);
    for (const src of contextSources) {
      assert.ok(!['.', './', '*'].includes(src), `COPY ${src} copies the whole context`);
      assert.doesNotMatch(src, /(^|\/)(\.env|certs|data|test|\.git)(\/|$)|\.(pem|key|crt)$/, `COPY ${src}`);
      assert.ok(!isIgnored(src), `${src} is copied but excluded by .dockerignore`);
    }
    for (const secret of ['.env', '.env.production', 'data/gatehouse.db', 'data/jwks.json', 'certs/server.key', 'certs/root_ca.crt', 'src/x/dev.pem', '.git/config', 'node_modules/koa/index.js', 'test/helpers/cli.ts', 'src/http/app.test.ts']) {
      assert.ok(isIgnored(secret), `${secret} would enter the build context`);
    }
    for (const file of [...filesUnder(join(ROOT, 'src')), ...filesUnder(join(ROOT, 'views')), 'bin/gatehouse.js', 'package.json', 'package-lock.json']) {
      assert.ok(!isIgnored(file), `${file} is needed at run time but excluded`);
    }
  });
});

describe("the image's start command", () => {
  const dirs: string[] = [];
  after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  it('serves from a read-only code tree as uid 10001 with production dependencies only, and passes its HEALTHCHECK', async () => {
    // Lay out /app as the final stage does: the COPY sources, then the deps stage's `npm ci`.
    const image = mkdtempSync(join(tmpdir(), 'gh-image-'));
    dirs.push(image);
    chmodSync(image, 0o755);
    const app = join(image, 'app');
    mkdirSync(app);
    for (const c of copies(instructions, finalStage).filter((x) => !x.from)) {
      for (const src of c.sources) cpSync(join(ROOT, src), join(app, c.dest === './' ? src : c.dest), { recursive: true });
    }
    const npmCi = instructions.find((i) => i.keyword === 'RUN' && i.stage < finalStage && i.args.includes('npm ci'))!;
    const npmArgs = /npm (ci[^&;|]*)/.exec(npmCi.args)![1]!.trim().split(/\s+/);
    const install = spawnSync('npm', [...npmArgs, '--prefer-offline'], { cwd: app, encoding: 'utf8', env: { ...cleanEnv(), NODE_ENV: 'production' } });
    assert.equal(install.status, 0, install.stderr);
    assert.ok(!existsSync(join(app, 'node_modules', 'typescript')) && !existsSync(join(app, 'node_modules', 'node')), 'dev dependencies are not installed');

    // Writable volumes owned by the image's user; the code tree stays root's.
    const data = join(image, 'var-lib-gatehouse');
    const certs = join(image, 'etc-gatehouse-tls');
    const keys = join(image, 'keys');
    for (const d of [data, certs, keys]) mkdirSync(d, { mode: 0o700 });
    const jwks = join(keys, 'jwks.json');
    writeFileSync(jwks, JSON.stringify({ keys: [await generateSigningKey('RS256'), await generateSigningKey('ES256')] }), { mode: 0o400 });
    // What the chart mounts from the TLS Secret: server certificate, key and client CA bundle.
    await initDevPki(certs);
    const asRoot = process.getuid?.() === 0;
    if (asRoot) for (const p of [data, certs, keys, jwks, ...readdirSync(certs).map((f) => join(certs, f))]) chownSync(p, UID, UID);
    const before = filesUnder(app).length;

    const port = await freePort();
    const env = {
      ...cleanEnv(),
      ...stageEnv(instructions, finalStage),
      // Only what the chart sets differently, and paths that exist outside a container.
      GATEHOUSE_HOST: '127.0.0.1',
      GATEHOUSE_PORT: String(port),
      GATEHOUSE_MTLS_PORT: String(await freePort()),
      GATEHOUSE_DATA_DIR: data,
      GATEHOUSE_CERTS_DIR: certs,
      GATEHOUSE_MODE: 'production',
      GATEHOUSE_ISSUER: 'https://login.example.test',
      GATEHOUSE_MTLS_ORIGIN: 'https://mtls.login.example.test',
      GATEHOUSE_JWKS_FILE: jwks,
      GATEHOUSE_COOKIE_KEYS: 'image-test-cookie-key-0123456789abcdef',
    };
    // ENTRYPOINT + CMD, with `node` being this Node 24 (the base image's node is Node 24 too).
    const [cmd, ...argv] = [...last('ENTRYPOINT')!.exec!, ...last('CMD')!.exec!].map((a) => (a === 'node' ? process.execPath : a));
    const drop = asRoot ? ['setpriv', `--reuid=${UID}`, `--regid=${UID}`, '--clear-groups', '--'] : [];
    const [bin, ...rest] = [...drop, cmd!, ...argv];
    const child = spawn(bin!, rest, { cwd: app, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`not listening within 30 s; stderr: ${stderr}`)), 30_000);
        createInterface({ input: child.stdout }).on('line', (line) => {
          if (line.includes('"event":"listening"')) (clearTimeout(timer), resolve());
        });
        void exited.then((code) => (clearTimeout(timer), reject(new Error(`exited ${code}; stderr: ${stderr}`))));
      });
      const base = `http://127.0.0.1:${port}`;
      assert.equal((await fetch(`${base}/healthz/live`)).status, 200);
      assert.equal((await fetch(`${base}/healthz/ready`)).status, 200);
      const discovery = (await (await fetch(`${base}/.well-known/openid-configuration`)).json()) as { issuer: string };
      assert.equal(discovery.issuer, 'https://login.example.test');

      const health = last('HEALTHCHECK')!.exec!.map((a) => (a === 'node' ? process.execPath : a));
      const check = spawnSync(health[0]!, health.slice(1), { env: { ...env }, encoding: 'utf8', timeout: 10_000 });
      assert.equal(check.status, 0, `HEALTHCHECK failed: ${check.stderr}`);

      assert.equal(filesUnder(app).length, before, 'the server wrote into the code tree');
      const stored = readdirSync(data);
      assert.ok(stored.some((f) => f.startsWith('gatehouse.db')), `SQLite in the data dir: ${stored.join(', ')}`);
      if (asRoot) assert.equal(statSync(join(data, 'gatehouse.db')).uid, UID, 'files are written by uid 10001');
    } finally {
      child.kill('SIGTERM');
    }
    assert.equal(await exited, 0, `SIGTERM must exit 0; stderr: ${stderr}`);

    // With the server down, the HEALTHCHECK reports unhealthy.
    const health = last('HEALTHCHECK')!.exec!.map((a) => (a === 'node' ? process.execPath : a));
    assert.equal(spawnSync(health[0]!, health.slice(1), { env, timeout: 10_000 }).status, 1);
  });
});
