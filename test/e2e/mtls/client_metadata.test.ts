import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../../../src/shared/errors.ts';
import { startTestServer } from '../../helpers/server.ts';
import { clientsFile, tlsClient } from '../../helpers/mtls_curl.ts';

// RFC 8705 §2.1.2: a tls_client_auth client registers exactly one subject field. A static client
// breaking that stops the server at start, naming it, rather than failing its requests later.
describe('tls_client_auth client metadata', () => {
  for (const [label, subject, message] of [
    ['two subject fields', { tls_client_auth_san_email: 'a@example.com', tls_client_auth_san_dns: 'a.example' }, /tls_client_auth requires exactly one of tls_client_auth_subject_dn/],
    ['no subject field', {}, /tls_client_auth requires exactly one of tls_client_auth_subject_dn/],
  ] as const) {
    it(`${label} is refused at start`, async () => {
      await assert.rejects(
        startTestServer({ GATEHOUSE_CLIENTS_FILE: clientsFile([tlsClient('svc', subject)]) }),
        (err: unknown) => err instanceof ConfigError && /GATEHOUSE_CLIENTS_FILE: client svc: /.test(err.message) && message.test(err.message),
      );
    });
  }

  it('a malformed CA pin is refused at start', async () => {
    await assert.rejects(
      startTestServer({ GATEHOUSE_CLIENTS_FILE: clientsFile([tlsClient('svc', { tls_client_auth_san_dns: 'a.example' }, { tls_client_auth_ca_sha256: 'abc' })]) }),
      (err: unknown) => err instanceof ConfigError && /tls_client_auth_ca_sha256 must be the hex SHA-256 fingerprint/.test(err.message),
    );
  });
});
