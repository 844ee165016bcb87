import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AlreadyExistsError, NotFoundError } from '../shared/errors.ts';
import { PKI_FILES } from './files.ts';
import { createRootCa, issueCertificate, type SubjectAltNames } from './issue.ts';


const SERVER_NAMES: SubjectAltNames = { dns: ['localhost'], ip: ['127.0.0.1', '::1'] };

function writeFile(path: string, content: string, secret: boolean): void {
  writeFileSync(path, content, { mode: secret ? 0o600 : 0o644 });
  chmodSync(path, secret ? 0o600 : 0o644);
}

/** Whether none of the listener's files exist yet (the state `npm start` fills in development). */
export function certsDirEmpty(certsDir: string): boolean {
  return ![PKI_FILES.serverCert, PKI_FILES.serverKey, PKI_FILES.rootCa, PKI_FILES.rootCaKey].some((f) => existsSync(join(certsDir, f)));
}

/**
 * Creates a development root CA and a server certificate for localhost, 127.0.0.1 and ::1
 * (like `step ca init`). Refuses to overwrite unless `force`. Returns the files written.
 */
export async function initDevPki(certsDir: string, options: { force?: boolean; caDays?: number; serverDays?: number } = {}): Promise<string[]> {
  if (!options.force && !certsDirEmpty(certsDir)) throw new AlreadyExistsError(`a PKI in ${certsDir}`);
  mkdirSync(certsDir, { recursive: true, mode: 0o700 });
  const ca = await createRootCa('Gatehouse Development Root CA', options.caDays ?? 3650);
  const server = await issueCertificate(ca, { commonName: 'localhost', sans: SERVER_NAMES, days: options.serverDays ?? 825, usage: 'server' });
  const paths = {
    rootCa: join(certsDir, PKI_FILES.rootCa),
    rootCaKey: join(certsDir, PKI_FILES.rootCaKey),
    serverCert: join(certsDir, PKI_FILES.serverCert),
    serverKey: join(certsDir, PKI_FILES.serverKey),
  };
  writeFile(paths.rootCaKey, ca.keyPem, true);
  writeFile(paths.rootCa, ca.certPem, false);
  writeFile(paths.serverKey, server.keyPem, true);
  writeFile(paths.serverCert, server.certPem, false);
  return Object.values(paths);
}

export interface IssueClientOptions {
  sans: SubjectAltNames;
  days: number;
  outDir: string;
  force?: boolean;
}

/** Issues `<name>.crt` / `<name>.key` into `outDir` from the CA in `certsDir` (like `step ca certificate`). */
export async function issueClientCertificate(certsDir: string, name: string, options: IssueClientOptions): Promise<{ certPath: string; keyPath: string }> {
  const caCertPath = join(certsDir, PKI_FILES.rootCa);
  const caKeyPath = join(certsDir, PKI_FILES.rootCaKey);
  if (!existsSync(caCertPath) || !existsSync(caKeyPath)) throw new NotFoundError(`a CA key pair in ${certsDir} (run \`gatehouse certs init\` first)`);
  const ca = { certPem: readFileSync(caCertPath, 'utf8'), keyPem: readFileSync(caKeyPath, 'utf8') };
  mkdirSync(options.outDir, { recursive: true });
  const certPath = join(options.outDir, `${name}.crt`);
  const keyPath = join(options.outDir, `${name}.key`);
  if (!options.force && (existsSync(certPath) || existsSync(keyPath))) throw new AlreadyExistsError(`${certPath} or ${keyPath}`);
  const issued = await issueCertificate(ca, { commonName: name, sans: options.sans, days: options.days, usage: 'client' });
  writeFile(keyPath, issued.keyPem, true);
  writeFile(certPath, issued.certPem, false);
  return { certPath, keyPath };
}
