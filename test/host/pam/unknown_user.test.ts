import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

const PAM_MODULE = join(import.meta.dirname, '..', '..', '..', 'host', 'pam', 'gatehouse_pam.py');
const NO_SUCH_USER = 'ghnosuchuser7';

/**
 * Whether a Unix account exists must not show in what an unauthenticated SSH client sees: the
 * module's answers for a missing account are the ones an existing account gets (OpenSSH itself
 * hides invalid users the same way), and a missing account is still refused in the end.
 */
function run(code: string, ...args: string[]): string {
  const script = `
import importlib.util, json, sys, time
sys.dont_write_bytecode = True
spec = importlib.util.spec_from_file_location('gatehouse_pam', sys.argv[1])
m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)
try:
${code}
except m.Refused as e:
    print('REFUSED ' + str(e))
`;
  return execFileSync('/usr/bin/python3', ['-c', script, PAM_MODULE, ...args], { encoding: 'utf8' }).trim();
}

const dir = mkdtempSync(join(tmpdir(), 'gatehouse-pam-user-'));
writeFileSync(join(dir, 'secret'), 'shh\n', { mode: 0o600 });

describe('PAM module: a Unix user that does not exist', () => {
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('gets the same answer as an existing one before any approval (here: Gatehouse unreachable)', async () => {
    // A port nobody listens on: taken, then closed.
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const { port } = s.address() as { port: number };
        s.close(() => resolve(port));
      });
    });
    const login = (user: string) =>
      run(
        `    config = dict(m.DEFAULTS, issuer='http://127.0.0.1:${port}', client_id='build-42', client_secret_file=sys.argv[2])
    m.device_login(sys.argv[3], config, lambda text: None)
    print('OK')`,
        join(dir, 'secret'),
        user,
      );
    const existing = login('root');
    assert.match(existing, /^REFUSED cannot reach Gatehouse/);
    assert.equal(login(NO_SUCH_USER), existing);
  });

  for (const claim of ['preferred_username', 'uid_number']) {
    it(`is refused after approval, with the answer another person's approval gets (claim = ${claim})`, () => {
      const check = (user: string, approver: Record<string, unknown>) =>
        run(
          `    m.check_claims(json.loads(sys.argv[2]), sys.argv[3], dict(m.DEFAULTS, claim='${claim}'))
    print('OK')`,
          JSON.stringify(approver),
          user,
        );
      // Someone whose Gatehouse name and uid match nothing on this host.
      const mallory = { preferred_username: 'mallory', uid_number: 4242 };
      assert.equal(check(NO_SUCH_USER, mallory), check('root', mallory).replace("'root'", `'${NO_SUCH_USER}'`).replace('root\'s', `${NO_SUCH_USER}'s`));
      assert.match(check(NO_SUCH_USER, mallory), /^REFUSED /);
      // Even a Gatehouse account named like the missing Unix account gets no login.
      assert.match(check(NO_SUCH_USER, { preferred_username: NO_SUCH_USER, uid_number: 4242 }), /^REFUSED /);
    });
  }
});
