import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../../helpers/cli.ts';
import { startTestServer, type TestServer } from '../../helpers/server.ts';

const SERVICE = { redirect_uris: [], response_types: [], grant_types: ['client_credentials'], token_endpoint_auth_method: 'client_secret_basic' };

/**
 * Values that read as something else: the issue's right-to-left override, and other members of
 * Unicode's format category (isolates, marks, zero-width characters, soft hyphen, BOM).
 */
const SPOOFS: Array<[string, Record<string, unknown>, string, string]> = [
  ['U+202E RIGHT-TO-LEFT OVERRIDE in client_name', { client_name: 'Acme \u202Egnp.exe' }, 'client_name', 'U+202E'],
  ['U+2067 RIGHT-TO-LEFT ISOLATE in client_name', { client_name: 'Acme \u2067Corp\u2069' }, 'client_name', 'U+2067'],
  ['U+061C ARABIC LETTER MARK in client_name', { client_name: 'تطبيق\u061C Acme' }, 'client_name', 'U+061C'],
  ['U+200B ZERO WIDTH SPACE in tos_uri', { tos_uri: 'https://acme.example/\u200Btos' }, 'tos_uri', 'U+200B'],
  ['U+00AD SOFT HYPHEN in software_id', { software_id: 'acme\u00ADcli' }, 'software_id', 'U+00AD'],
  ['U+FEFF BOM in contacts', { contacts: ['ops@acme.example', '\uFEFFadmin@acme.example'] }, 'contacts', 'U+FEFF'],
  ['U+2028 LINE SEPARATOR in client_name', { client_name: 'Acme\u2028Approved by admin' }, 'client_name', 'U+2028'],
  // Invisible but not Cf: default-ignorable letters and marks that render as nothing.
  ['U+3164 HANGUL FILLER as the whole client_name', { client_name: '\u3164' }, 'client_name', 'U+3164'],
  ['U+115F HANGUL CHOSEONG FILLER in client_name', { client_name: 'Acme\u115F Corp' }, 'client_name', 'U+115F'],
  ['U+034F COMBINING GRAPHEME JOINER in client_name', { client_name: 'Ac\u034Fme' }, 'client_name', 'U+034F'],
];

describe('client metadata shown to people carries no invisible formatting', () => {
  let gh: TestServer;
  before(async () => {
    gh = await startTestServer();
  });
  after(() => gh.stop());

  const register = (doc: unknown) => fetch(`${gh.publicUrl}/reg`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(doc) });

  it('registration (RFC 7591) refuses each with invalid_client_metadata naming the field', async () => {
    for (const [label, fields, field, codePoint] of SPOOFS) {
      const res = await register({ ...SERVICE, ...fields });
      const body = (await res.json()) as { error: string; error_description: string };
      assert.equal(res.status, 400, label);
      assert.equal(body.error, 'invalid_client_metadata', label);
      assert.ok(body.error_description.startsWith(field), `${label}: ${body.error_description}`);
      assert.match(body.error_description, new RegExp(codePoint.replace('+', '\\+')), label);
    }
  });

  it('text that is not well-formed (raw bytes that are not UTF-8, a lone surrogate escape) is refused, naming the field and the code point', async () => {
    const raw = Buffer.concat([Buffer.from('{"client_name":"Acme '), Buffer.from([0xff, 0xfe]), Buffer.from(`","redirect_uris":[],"response_types":[],"grant_types":["client_credentials"]}`)]);
    for (const [label, body, codePoint] of [
      ['raw 0xFF 0xFE', raw, 'U+FFFD'],
      ['JSON \\ud800', `{"client_name":"Acme \\ud800","redirect_uris":[],"response_types":[],"grant_types":["client_credentials"]}`, 'U+D800'],
    ] as const) {
      const res = await fetch(`${gh.publicUrl}/reg`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      const answer = (await res.json()) as { error: string; error_description: string };
      assert.equal(res.status, 400, `${label}: ${JSON.stringify(answer)}`);
      assert.equal(answer.error, 'invalid_client_metadata', label);
      assert.match(answer.error_description, new RegExp(`^client_name must be well-formed UTF-8 text \\(found ${codePoint.replace('+', '\\+')}`), label);
    }
  });

  it('names in other scripts, with combining marks or emoji, are accepted', async () => {
    for (const client_name of ['Ünïcödé Äpp', 'تطبيق أكمي', 'アクメ', 'Acme 🚀', 'Acme \u2764\uFE0F', '한글 앱']) {
      const res = await register({ ...SERVICE, client_name });
      assert.equal(res.status, 201, client_name);
    }
  });

  it('client update (RFC 7592) refuses it too', async () => {
    const created = (await (await register({ ...SERVICE, client_name: 'Acme' })).json()) as Record<string, string>;
    const { client_id, registration_access_token, client_secret } = created;
    const res = await fetch(`${gh.publicUrl}/reg/${client_id}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${registration_access_token}` },
      body: JSON.stringify({ ...SERVICE, client_id, client_secret, client_name: 'Acme \u202Egnp.exe' }),
    });
    const body = (await res.json()) as { error: string; error_description: string };
    assert.equal(res.status, 400, JSON.stringify(body));
    assert.equal(body.error, 'invalid_client_metadata');
    assert.match(body.error_description, /^client_name .*U\+202E/);
  });

  it('`gatehouse clients add` and `update` refuse it', async () => {
    const env = { GATEHOUSE_DATA_DIR: gh.config.dataDir, GATEHOUSE_ISSUER: gh.config.issuer };
    const add = await runCli(['clients', 'add', '--grant', 'client_credentials', '--name', 'Acme \u202Egnp.exe'], { env });
    assert.equal(add.status, 2, add.stderr);
    assert.match(add.stderr, /invalid_client_metadata: client_name .*U\+202E/);
    const ok = await runCli(['clients', 'add', '--id', 'acme', '--grant', 'client_credentials', '--name', 'Acme'], { env });
    assert.equal(ok.status, 0, ok.stderr);
    const update = await runCli(['clients', 'update', '--metadata', JSON.stringify({ policy_uri: 'https://acme.example/\u2066policy' }), 'acme'], { env });
    assert.equal(update.status, 2, update.stderr);
    assert.match(update.stderr, /invalid_client_metadata: policy_uri .*U\+2066/);
  });

  it('`gatehouse clients list` shows a name stored before the rule with the invisible characters replaced', async () => {
    await gh.store.upsert('Client', 'old-spoof', { client_id: 'old-spoof', client_name: 'Acme \u202Egnp.exe\u3164', ...SERVICE, token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [] } });
    const list = await runCli(['clients', 'list'], { env: { GATEHOUSE_DATA_DIR: gh.config.dataDir, GATEHOUSE_ISSUER: gh.config.issuer } });
    assert.equal(list.status, 0, list.stderr);
    assert.match(list.stdout, /old-spoof\s+Acme \?gnp\.exe\?/);
    assert.ok(!list.stdout.includes('\u202E'));
  });

  it('a static clients file with one stops `gatehouse serve`, naming the client and field', async () => {
    const file = join(gh.dir, 'spoof-clients.json');
    writeFileSync(file, JSON.stringify([{ client_id: 'spoof', client_secret: 'a-long-enough-static-secret-0123456789', ...SERVICE, client_name: 'Acme \u202Egnp.exe' }]));
    const r = await runCli(['serve'], { env: { GATEHOUSE_CLIENTS_FILE: file, GATEHOUSE_DATA_DIR: join(gh.dir, 'serve-data'), GATEHOUSE_PORT: '0', GATEHOUSE_MTLS_PORT: '0' } });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /client spoof: invalid_client_metadata: client_name .*U\+202E/);
  });
});
