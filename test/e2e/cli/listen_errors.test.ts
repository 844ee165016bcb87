// A second Gatehouse on one machine (e.g. one playing the company IdP, README "Company SSO") moves
// GATEHOUSE_PORT and then finds the admin or mTLS port taken: the message names the setting.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runCli } from '../../helpers/cli.ts';
import { freePort } from '../../helpers/server.ts';

describe('gatehouse serve with a port already taken', () => {
  let dir: string;
  let taken: Server;
  let takenPort: number;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-listen-'));
    taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    takenPort = (taken.address() as { port: number }).port;
  });
  after(() => {
    taken.close();
    rmSync(dir, { recursive: true, force: true });
  });

  for (const [setting, extra] of [['GATEHOUSE_ADMIN_PORT', { GATEHOUSE_MTLS_ENABLED: 'false' }], ['GATEHOUSE_MTLS_PORT', { GATEHOUSE_MTLS_ENABLED: 'true' }], ['GATEHOUSE_PORT', {}]] as const) {
    test(`${setting}: exit 1 naming the address and the setting to change`, async () => {
      const port = setting === 'GATEHOUSE_PORT' ? takenPort : await freePort();
      const r = await runCli(['serve'], {
        cwd: dir,
        env: { GATEHOUSE_STORE: 'memory', GATEHOUSE_DATA_DIR: join(dir, 'data'), GATEHOUSE_CERTS_DIR: join(dir, 'certs'), GATEHOUSE_PORT: String(port), GATEHOUSE_ISSUER: `http://127.0.0.1:${port}`, GATEHOUSE_MTLS_PORT: String(await freePort()), ...extra, [setting]: String(takenPort) },
      });
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stderr, new RegExp(`^gatehouse: cannot listen on 127\\.0\\.0\\.1:${takenPort} \\(${setting}\\): the address is already in use \\(another Gatehouse\\?\\); set ${setting} to a free port \\(0 picks one\\)$`, 'm'));
    });
  }
});
