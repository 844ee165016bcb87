import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, constants, existsSync, mkdirSync, mkdtempSync, openSync, rmSync, rmdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../helpers/net.ts';

export const PAM_MODULE = join(import.meta.dirname, '..', '..', '..', 'host', 'pam', 'gatehouse_pam.py');
const SSHD = '/usr/sbin/sshd';
const PAM_PYTHON = '/lib/security/pam_python.so';

/** Every process below `pid`, children first. */
function descendants(pid: number): number[] {
  let out = '';
  try {
    out = execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' });
  } catch {
    return [];
  }
  const children = out.split('\n').map((l) => Number(l.trim())).filter((n) => n > 0);
  return children.flatMap((child) => [...descendants(child), child]);
}

function killAll(pids: number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
}

/** A throwaway sshd on 127.0.0.1 with its own PAM service, config, host key and Unix user. */
export interface TestSshd {
  port: number;
  /** The Unix user made for this run (also the Gatehouse username the tests create). */
  user: string;
  uid: number;
  /** Where the PAM module reads its settings; rewrite it between logins with `configure`. */
  pamConfig: string;
  dir: string;
  configure(settings: Record<string, string>): void;
  stop(): Promise<void>;
}

/**
 * Starts sshd through a symlink named after a PAM service of its own
 * (/etc/pam.d/gatehouse-sshd-test-<random>: OpenSSH takes the service name from its program
 * name), so the machine's /etc/pam.d/sshd and common-* files are never read or touched. Adds a
 * user with `useradd -m`; `stop` removes everything it made, also after a failure half-way.
 * Needs root and test/setup/sshd.sh (openssh-server, libpam-python, python3-jwt, python3-cryptography, python3-qrcode).
 */
export async function startSshd(): Promise<TestSshd> {
  if (process.getuid?.() !== 0) throw new Error('the SSH login tests need root (useradd, /etc/pam.d); run them as root');
  for (const path of [SSHD, PAM_PYTHON]) if (!existsSync(path)) throw new Error(`${path} is missing: run bash test/setup/sshd.sh`);
  const suffix = randomBytes(4).toString('hex');
  const service = `gatehouse-sshd-test-${suffix}`;
  const user = `ghssh${suffix}`;
  const pamFile = `/etc/pam.d/${service}`;
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-sshd-'));
  const undo: Array<() => void> = [() => rmSync(dir, { recursive: true, force: true })];
  let sshd: ChildProcess | undefined;
  const undoAll = () => {
    for (const step of undo.splice(0).reverse()) {
      try {
        step();
      } catch {
        // Keep undoing the rest.
      }
    }
  };
  // A test process that ends without its after() hooks (an uncaught error) still undoes the machine.
  const onExit = () => {
    if (sshd?.pid) killAll([...descendants(sshd.pid), sshd.pid]);
    undoAll();
  };
  process.once('exit', onExit);
  const cleanup = async () => {
    process.removeListener('exit', onExit);
    if (sshd?.pid && sshd.exitCode === null && sshd.signalCode === null) {
      // Connections live in sshd's own children (they call setsid, so no process group reaches
      // them). Closed ones end on their own within moments and sshd reaps them; whatever is left
      // after that is ended by pid, so none outlives the test or keeps the user busy.
      const deadline = Date.now() + 5000;
      while (descendants(sshd.pid).length && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
      killAll(descendants(sshd.pid));
      const exited = new Promise((resolve) => sshd!.once('exit', resolve));
      sshd.kill('SIGTERM');
      await exited;
    }
    undoAll();
  };
  try {
    if (!existsSync('/run/sshd')) {
      mkdirSync('/run/sshd', { mode: 0o755 });
      undo.push(() => rmdirSync('/run/sshd'));
    }
    execFileSync('useradd', ['-m', '-s', '/bin/sh', user]);
    undo.push(() => execFileSync('userdel', ['-r', user], { stdio: 'ignore' }));
    const uid = Number(execFileSync('id', ['-u', user], { encoding: 'utf8' }).trim());
    const pamConfig = join(dir, 'pam.conf');
    writeFileSync(pamFile, [
      `# Made by test/e2e/ssh for one run; removed when it ends.`,
      `auth required ${PAM_PYTHON} ${PAM_MODULE} config=${pamConfig}`,
      'account required pam_unix.so',
      'session required pam_permit.so',
      '',
    ].join('\n'), { mode: 0o644 });
    undo.push(() => rmSync(pamFile, { force: true }));
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'host_ed25519')]);
    const port = await freePort();
    const config = join(dir, 'sshd_config');
    writeFileSync(config, [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${join(dir, 'host_ed25519')}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      'UsePAM yes',
      'KbdInteractiveAuthentication yes',
      'PasswordAuthentication no',
      'PubkeyAuthentication no',
      'AuthenticationMethods keyboard-interactive',
      'PermitRootLogin no',
      `AllowUsers ${user}`,
      'LoginGraceTime 120',
      'UseDNS no',
      'PrintMotd no',
      '',
    ].join('\n'));
    const program = join(dir, service);
    symlinkSync(SSHD, program);
    sshd = spawn(program, ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`sshd did not start within 30 s:\n${log}`)), 30_000);
      sshd!.stderr!.on('data', (d) => {
        log += d;
        if (log.includes(`Server listening on 127.0.0.1 port ${port}`)) {
          clearTimeout(timer);
          resolve();
        }
      });
      sshd!.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`sshd exited with ${code}:\n${log}`));
      });
    });
    return {
      port,
      user,
      uid,
      pamConfig,
      dir,
      configure(settings) {
        writeFileSync(pamConfig, `${Object.entries(settings).map(([k, v]) => `${k} = ${v}`).join('\n')}\n`, { mode: 0o600 });
      },
      stop: cleanup,
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

export interface SshLogin {
  /** The first keyboard-interactive prompt, as OpenSSH handed it to the askpass program. */
  firstPrompt: Promise<string>;
  /** Answers the prompt with an empty line (the person presses Enter). */
  pressEnter(): Promise<void>;
  /** `id -un` on the host when the login succeeds; otherwise what ssh printed (PAM messages too). */
  result: Promise<{ ok: true; idUn: string } | { ok: false; stderr: string }>;
}

/**
 * Logs in with OpenSSH's own client over keyboard-interactive only, one attempt. The prompts go
 * to an askpass program (SSH_ASKPASS_REQUIRE=force) that writes each one into a FIFO and answers
 * with the next line the test writes into another, so the test sees exactly what a person would,
 * when they would. Messages without a prompt (the module's refusals) are printed by ssh on stderr.
 */
const clients = new Set<ChildProcess>();

/** Ends every ssh client still running (a test that failed half-way leaves one waiting at its prompt). */
export function stopSshClients(): void {
  for (const child of clients) child.kill('SIGKILL');
}

export function sshLogin(port: number, username: string): SshLogin {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-ssh-client-'));
  const prompts = join(dir, 'prompts');
  const answers = join(dir, 'answers');
  execFileSync('mkfifo', ['-m', '600', prompts, answers]);
  const askpass = join(dir, 'askpass');
  writeFileSync(askpass, `#!/bin/sh\nprintf '%s' "$1" > '${prompts}'\nread -r answer < '${answers}'\nprintf '%s\\n' "$answer"\n`, { mode: 0o700 });
  const child = spawn('ssh', [
    '-T', '-p', String(port),
    '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'GlobalKnownHostsFile=/dev/null',
    '-o', 'PreferredAuthentications=keyboard-interactive', '-o', 'NumberOfPasswordPrompts=1', '-o', 'ConnectTimeout=30',
    '-F', '/dev/null', `${username}@127.0.0.1`, 'id -un',
  ], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, LANG: 'C.UTF-8', SSH_ASKPASS: askpass, SSH_ASKPASS_REQUIRE: 'force' }, stdio: ['ignore', 'pipe', 'pipe'] });
  clients.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  // Reading a FIFO waits for its writer; a login that never prompts is released when ssh exits.
  const firstPrompt = readFile(prompts, 'utf8');
  const result = new Promise<{ ok: true; idUn: string } | { ok: false; stderr: string }>((resolve) => {
    child.on('close', (code) => {
      clients.delete(child);
      for (const fifo of [prompts, answers]) {
        try {
          closeSync(openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK));
        } catch {
          // No reader waiting: nothing to release.
        }
      }
      rmSync(dir, { recursive: true, force: true });
      resolve(code === 0 ? { ok: true, idUn: stdout.trim() } : { ok: false, stderr });
    });
  });
  return { firstPrompt, result, pressEnter: () => writeFile(answers, '\n') };
}
