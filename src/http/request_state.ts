import type { PresentedCertificate } from '../pki/presented_certificate.ts';
import type { CertificateRefusal } from '../pki/refusal.ts';
import type { ListenerName } from './listeners.ts';

// What Gatehouse's middleware keeps in koa's `ctx.state` for the rest of a request (oidc-provider's
// hooks see the same object), typed once here.
declare module 'koa' {
  interface DefaultState {
    /** Request id (http/request_context.ts), on every log line and in 500 responses. */
    reqId?: string;
    /** The listener the request arrived on (http/certificate_source.ts). */
    listener?: ListenerName;
    /** The client certificate of this request: the mTLS handshake's, or a trusted proxy's header (http/certificate_source.ts). */
    clientCertificate?: PresentedCertificate;
    /** Why the certificate did not authenticate the client, recorded by the mTLS checks (provider/parts/mtls.ts). */
    certificateRefusal?: CertificateRefusal;
  }
}
