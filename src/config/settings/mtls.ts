import { z } from 'zod';
import { bool, duration, setting, str } from '../setting.ts';

/** The mutual-TLS listener, its certificate files and client certificates forwarded by a proxy. */
export const mtls = {
  mtlsEnabled: setting({
    env: 'GATEHOUSE_MTLS_ENABLED',
    schema: bool(),
    default: 'true',
    type: 'boolean',
    description: 'Run the mutual-TLS listener. Production requires real certificate files unless this is false. False without GATEHOUSE_CLIENT_CERT_HEADER: no certificate can arrive, so tls_client_auth and self_signed_tls_client_auth are neither advertised nor accepted.',
  }),
  mtlsCertFile: setting({
    env: 'GATEHOUSE_MTLS_CERT_FILE',
    schema: str(),
    type: 'path',
    description: 'Server certificate (PEM, chain allowed) of the mTLS listener; defaults to server.crt in the certs dir.',
  }),
  mtlsKeyFile: setting({
    env: 'GATEHOUSE_MTLS_KEY_FILE',
    schema: str(),
    type: 'path',
    description: 'Private key (PEM) of the mTLS server certificate; defaults to server.key in the certs dir.',
  }),
  mtlsCaFile: setting({
    env: 'GATEHOUSE_MTLS_CA_FILE',
    schema: str(),
    type: 'path',
    description: 'Bundle of CA certificates (PEM, several allowed) trusted to issue client certificates, directly or through intermediates the client sends (a root is enough); defaults to root_ca.crt in the certs dir.',
  }),
  mtlsReloadInterval: setting({
    env: 'GATEHOUSE_MTLS_RELOAD_INTERVAL',
    schema: duration(1, 3600),
    default: '10s',
    type: 'duration',
    description: 'How often the certificate, key and CA files are checked for changes (rotated files apply without a restart).',
  }),
  clientCertHeader: setting({
    env: 'GATEHOUSE_CLIENT_CERT_HEADER',
    schema: z
      .string()
      .regex(/^[A-Za-z0-9-]{1,64}$/, 'must be an HTTP header name such as ssl-client-cert or x-forwarded-client-cert')
      .transform((v) => v.toLowerCase()),
    type: 'header name',
    description: 'Header carrying the client certificate from a TLS-terminating proxy (nginx ssl-client-cert URL-encoded PEM, or Envoy x-forwarded-client-cert); honoured only from GATEHOUSE_TRUSTED_PROXIES.',
  }),
} as const;
