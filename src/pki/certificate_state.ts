import type { PresentedCertificate } from './presented_certificate.ts';
import type { CertificateRefusal } from './refusal.ts';

/**
 * What the client-certificate path keeps in koa's `ctx.state` for the rest of one request
 * (oidc-provider's hooks see the same object): the certificate http/certificate_source.ts took
 * from the handshake or a trusted proxy, and why the mTLS checks (provider/parts/mtls.ts)
 * refused it, which the same middleware turns into the `error_description` and the log line.
 */
export interface ClientCertificateState {
  clientCertificate?: PresentedCertificate;
  certificateRefusal?: CertificateRefusal;
}

/** The client-certificate path's typed view of `ctx.state`. */
export function certificateState(ctx: { state: object }): ClientCertificateState {
  return ctx.state as ClientCertificateState;
}
