import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';

const PAM_MODULE = join(import.meta.dirname, '..', '..', '..', 'host', 'pam', 'gatehouse_pam.py');

/** The module's one keyboard-interactive prompt (prompt_text), built in Debian's Python as pam_python would. */
function prompt(auth: Record<string, unknown>, qr = 'yes'): string {
  const script = `
import importlib.util, json, sys
sys.dont_write_bytecode = True
spec = importlib.util.spec_from_file_location('gatehouse_pam', sys.argv[1])
m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)
sys.stdout.write(m.prompt_text(json.loads(sys.argv[2]), dict(m.DEFAULTS, qr=sys.argv[3])))
`;
  return execFileSync('/usr/bin/python3', ['-c', script, PAM_MODULE, JSON.stringify(auth), qr], { encoding: 'utf8' });
}

const AUTH = { verification_uri: 'https://login.example.com/device', verification_uri_complete: 'https://login.example.com/device?user_code=BCDF-GHJK', user_code: 'BCDF-GHJK' };

describe('PAM module: the prompt the person sees', () => {
  it('puts the link and code after the QR code, right above the Enter line', () => {
    // A client in a non-UTF-8 locale (LANG=C) prints the QR code's block characters as octal
    // escapes, some 60 screen lines of them: the link and code must not scroll away above them.
    const lines = prompt(AUTH).split('\n');
    const lastQr = lines.findLastIndex((l) => /[▀▄█]/.test(l));
    assert.ok(lastQr > 0, 'a QR code');
    assert.deepEqual(lines.slice(lastQr + 1), [
      `  Open:  ${AUTH.verification_uri_complete}`,
      `  Code:  ${AUTH.user_code}`,
      'Press Enter once you have approved in your browser: ',
    ]);
    assert.equal(lines[0], 'Sign in with Gatehouse to log in.');
  });

  it('without the QR code: the title, the link, the code and the Enter line', () => {
    assert.equal(prompt(AUTH, 'no'), `Sign in with Gatehouse to log in.\n  Open:  ${AUTH.verification_uri_complete}\n  Code:  ${AUTH.user_code}\nPress Enter once you have approved in your browser: `);
  });

  it('shows the server\'s link and code without terminal escapes', () => {
    const text = prompt({ verification_uri: 'https://login.example.com/device\u001b]0;owned\u0007', user_code: 'BCDF\u001b[2J-GHJK' }, 'no');
    assert.ok(!text.includes('\u001b') && !text.includes('\u0007'), JSON.stringify(text));
    assert.match(text, /Open: {2}https:\/\/login\.example\.com\/device\?\]0;owned\?/);
  });
});
