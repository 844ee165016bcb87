import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

const PAM_MODULE = join(import.meta.dirname, '..', '..', '..', 'host', 'pam', 'gatehouse_pam.py');

/** Runs read_config (and read_secret) of the PAM module in Debian's Python: "OK …" or "REFUSED …". */
function load(configText: string, secret?: { text: string; mode: number }): string {
  const path = join(dir, `pam-${Math.random().toString(36).slice(2)}.conf`);
  writeFileSync(path, configText, { mode: 0o644 });
  return loadPath(path, secret);
}

function loadPath(path: string, secret?: { text: string; mode: number }): string {
  if (secret) {
    writeFileSync(join(dir, 'secret'), secret.text);
    chmodSync(join(dir, 'secret'), secret.mode);
  }
  const script = `
import importlib.util, sys
sys.dont_write_bytecode = True
spec = importlib.util.spec_from_file_location('gatehouse_pam', sys.argv[1])
m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)
try:
    c = m.read_config(sys.argv[2])
    if len(sys.argv) > 3: m.read_secret(c['client_secret_file'])
    print('OK ' + c['issuer'] + ' ' + c['claim'])
except m.Refused as e:
    print('REFUSED ' + str(e))
`;
  return execFileSync('/usr/bin/python3', ['-c', script, PAM_MODULE, path, ...(secret ? ['secret'] : [])], { encoding: 'utf8' }).trim();
}

const dir = mkdtempSync(join(tmpdir(), 'gatehouse-pam-config-'));
const base = `issuer = https://login.example.com/\nclient_id = build-42\nclient_secret_file = ${join(dir, 'secret')}\n`;

describe('PAM module: its configuration file and client secret', () => {
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('reads the README example (comments, defaults, a trailing slash on the issuer)', () => {
    assert.equal(load(`# a comment\n${base}\nclaim = uid_number\n`), 'OK https://login.example.com uid_number');
  });

  for (const [name, text, message] of [
    ['a missing issuer', 'client_id = x\nclient_secret_file = /x\n', /"issuer" is required/],
    ['an http issuer that is not loopback', base.replace('https://login.example.com/', 'http://login.example.com'), /must be an https URL/],
    ['a misspelt setting (it must not weaken a check silently)', `${base}grup = admins\n`, /unknown setting "grup"/],
    ['a claim other than the two it knows', `${base}claim = email\n`, /claim must be one of preferred_username, uid_number/],
    ['mfa that is not yes or no', `${base}mfa = true\n`, /mfa and qr are "yes" or "no"/],
    ['a timeout beyond 10 minutes', `${base}timeout = 900\n`, /timeout is a number of seconds between 10 and 600/],
  ] as const) {
    it(`refuses ${name}`, () => assert.match(load(text), message));
  }

  it('refuses a configuration file others can write (they could name their own issuer and log in as anyone)', () => {
    const path = join(dir, 'writable.conf');
    writeFileSync(path, base);
    for (const mode of [0o666, 0o620]) {
      chmodSync(path, mode);
      assert.match(loadPath(path), /configuration of .*writable.conf must belong to root and not be writable by others \(chmod 644\)/);
    }
    chmodSync(path, 0o644);
    assert.match(loadPath(path), /^OK /);
    chmodSync(dir, 0o777);
    try {
      assert.match(loadPath(path), /configuration directory of .* must belong to root and not be writable by others \(chmod 755\)/);
    } finally {
      chmodSync(dir, 0o700);
    }
  });

  it('reads the secret only from a file others cannot read, and never an empty one', () => {
    assert.match(load(base, { text: 'shh\n', mode: 0o600 }), /^OK /);
    assert.match(load(base, { text: 'shh\n', mode: 0o644 }), /must belong to root and not be readable by others/);
    assert.match(load(base, { text: '\n', mode: 0o600 }), /is empty/);
  });
});
