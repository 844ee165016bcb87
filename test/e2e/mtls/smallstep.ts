import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from '../../helpers/cli.ts';
import { curl } from '../../helpers/curl.ts';
import { freePort } from '../../helpers/net.ts';

const run = promisify(execFile);
export const STEP = join(ROOT, '.tools', 'bin', 'step');
export const STEP_CA = join(ROOT, '.tools', 'bin', 'step-ca');

/** A running Smallstep CA (built by test/setup/step.sh) and a client STEPPATH bootstrapped to it. */
export interface SmallstepCa {
  /** https://localhost:<port> (the CA's certificate names localhost). */
  url: string;
  /** The root certificate `step ca bootstrap` wrote into the client STEPPATH: the file Gatehouse trusts. */
  rootCa: string;
  /** The CA's own directory (as `step ca init` wrote it): the intermediate and its encrypted key. */
  caPath: string;
  /** File holding the CA and provisioner password. */
  passwordFile: string;
  provisioner: string;
  /** Runs the real `step` with the client STEPPATH; rejects with its output on a non-zero exit. */
  step(args: string[]): Promise<{ stdout: string; stderr: string }>;
  stop(): Promise<void>;
}

/**
 * `step ca init` with a JWK provisioner and a password file, `step-ca` on 127.0.0.1 and a free
 * port, then `step ca bootstrap` by fingerprint into a second STEPPATH, as a client machine would.
 */
export async function startSmallstepCa(dir: string): Promise<SmallstepCa> {
  for (const bin of [STEP, STEP_CA]) if (!existsSync(bin)) throw new Error(`${bin} is missing: run bash test/setup/step.sh (or test/setup/tools.sh)`);
  const caPath = join(dir, 'ca');
  const clientPath = join(dir, 'client');
  mkdirSync(caPath, { recursive: true });
  mkdirSync(clientPath, { recursive: true });
  const passwordFile = join(dir, 'password.txt');
  // As `openssl rand -base64 24 > password.txt` writes it (README), final newline included.
  writeFileSync(passwordFile, `${randomBytes(24).toString('base64')}\n`, { mode: 0o600 });
  const provisioner = 'ops@example.com';
  const port = await freePort();
  const exec = (steppath: string) => async (args: string[]) => {
    try {
      return await run(STEP, args, { env: { ...process.env, STEPPATH: steppath, HOME: dir }, timeout: 120_000 });
    } catch (err) {
      const e = err as { stdout?: string; stderr?: string; message: string };
      throw new Error(`step ${args.join(' ')} failed: ${e.message}\n${e.stdout ?? ''}${e.stderr ?? ''}`);
    }
  };
  await exec(caPath)([
    'ca', 'init', '--deployment-type', 'standalone', '--name', 'Gatehouse Test CA', '--dns', 'localhost', '--address', `127.0.0.1:${port}`,
    '--provisioner', provisioner, '--password-file', passwordFile, '--provisioner-password-file', passwordFile,
  ]);
  const output: string[] = [];
  const child: ChildProcess = spawn(STEP_CA, [join(caPath, 'config', 'ca.json'), '--password-file', passwordFile], {
    env: { ...process.env, STEPPATH: caPath, HOME: dir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (d) => output.push(String(d)));
  child.stderr!.on('data', (d) => output.push(String(d)));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  };
  try {
    const url = `https://localhost:${port}`;
    const caRoot = join(caPath, 'certs', 'root_ca.crt');
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`step-ca exited (${child.exitCode}):\n${output.join('')}`);
      const health = await curl(['--cacert', caRoot, `${url}/health`]).catch(() => undefined);
      if (health?.status === 200) break;
      if (Date.now() > deadline) throw new Error(`step-ca did not answer /health within 60 s:\n${output.join('')}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    const fingerprint = (await exec(caPath)(['certificate', 'fingerprint', caRoot])).stdout.trim();
    const step = exec(clientPath);
    await step(['ca', 'bootstrap', '--ca-url', url, '--fingerprint', fingerprint]);
    return { url, rootCa: join(clientPath, 'certs', 'root_ca.crt'), caPath, passwordFile, provisioner, step, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
