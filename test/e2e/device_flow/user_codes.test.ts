import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { normalizeUserCode } from '../../../src/features/device_flow/pages.ts';
import { CookieClient, hidden } from '../../helpers/browserless.ts';
import { type DeviceServer, requestDeviceCode, startDeviceServer } from '../../helpers/device.ts';

/** Full-width forms (U+FF01–U+FF5E) of ASCII text, as an East Asian input method types them. */
const fullWidth = (s: string) => s.replace(/[!-~]/g, (c) => String.fromCodePoint(c.codePointAt(0)! + 0xfee0));

/** Ways a person (or their keyboard) may type the code `BCDF-GHJK`, all meaning it. */
const SPELLINGS = [
  (code: string) => code.replace('-', '_'),
  (code: string) => code.toLowerCase(),
  (code: string) => fullWidth(code),
  (code: string) => fullWidth(code.toLowerCase()).replace('－', '\u3000'),
  (code: string) => ` ${code.slice(0, 4)} . ${code.slice(5)} `,
  (code: string) => code.replace('-', '\u2010'),
];

describe('normalizeUserCode', () => {
  it('keeps only the code alphabet after NFKC and upper-casing', () => {
    for (const spell of SPELLINGS) assert.equal(normalizeUserCode(spell('BCDF-GHJK')), 'BCDFGHJK', JSON.stringify(spell('BCDF-GHJK')));
  });
  it('drops characters outside the alphabet, so nothing else reaches the lookup', () => {
    assert.equal(normalizeUserCode('____'), '');
    assert.equal(normalizeUserCode('<script>'), 'SCRPT');
    assert.equal(normalizeUserCode('x'.repeat(10_000)), 'X'.repeat(10_000));
  });
});

describe('the verification page takes any spelling of a code', () => {
  let server: DeviceServer;
  before(async () => {
    // Fewer allowed failures than spellings: were any spelling counted as a wrong code, a later one would get 429.
    server = await startDeviceServer({ GATEHOUSE_USER_CODE_FAILURES_PER_IP: String(SPELLINGS.length - 1) });
  });
  after(() => server.stop());

  it('each spelling finds the code, shows the confirmation page, and counts as no failure', async () => {
    const auth = await requestDeviceCode(server);
    for (const spell of SPELLINGS) {
      const client = new CookieClient(server);
      const entry = await client.request('/device');
      const typed = spell(auth.user_code);
      const confirm = await client.request('/device', { form: { xsrf: hidden(entry.text, 'xsrf'), user_code: typed } });
      assert.equal(confirm.res.status, 200, JSON.stringify(typed));
      assert.match(confirm.text, /Confirm this device/, JSON.stringify(typed));
      assert.ok(confirm.text.includes(auth.user_code), JSON.stringify(typed));
    }
  });

  it('a link carrying a spelling opens the confirmation page for the code in its canonical form', async () => {
    const auth = await requestDeviceCode(server);
    const client = new CookieClient(server);
    const page = await client.request(`/device?user_code=${encodeURIComponent(fullWidth(auth.user_code.toLowerCase()))}`);
    assert.equal(page.res.status, 200);
    assert.match(page.text, /Confirm this device/);
    assert.match(page.text, new RegExp(`value="${auth.user_code}"`));
  });

  it('a wrong code is still incorrect', async () => {
    const client = new CookieClient(server);
    const entry = await client.request('/device');
    const r = await client.request('/device', { form: { xsrf: hidden(entry.text, 'xsrf'), user_code: 'BBBB_BBBB' } });
    assert.match(r.text, /incorrect/);
  });
});
