import { resolve } from 'node:path';
import type { Command } from 'commander';
import { loadConfig } from '../../config/load.ts';
import { initDevPki, issueClientCertificate } from '../../pki/dev_pki.ts';
import { sanProblems } from '../../pki/issue.ts';
import { UsageError } from '../../shared/errors.ts';

const collect = (value: string, previous: string[]) => [...previous, value];

interface IssueFlags {
  sanEmail: string[];
  sanDns: string[];
  sanUri: string[];
  sanIp: string[];
  days: string;
  out?: string;
  force?: boolean;
}

/**
 * `gatehouse certs init|issue`: the development PKI, like `step ca init` / `step ca certificate`.
 * The CA lives in GATEHOUSE_CERTS_DIR; keys are written 0600.
 */
export function registerCerts(program: Command): void {
  const certs = program.command('certs').description('development PKI for the mutual-TLS listener (a private CA, server and client certificates)');

  certs
    .command('init')
    .description('create a development root CA and a server certificate for localhost, 127.0.0.1 and ::1 in the certs dir')
    .option('--force', 'replace an existing CA and server certificate')
    .action(async (flags: { force?: boolean }) => {
      const config = loadConfig();
      const written = await initDevPki(config.certsDir, { force: flags.force });
      process.stdout.write(`Created a development PKI in ${config.certsDir}:\n${written.map((p) => `  ${p}`).join('\n')}\n`);
      process.stdout.write('Trust root_ca.crt in clients (curl --cacert) and issue client certificates with `gatehouse certs issue <name>`.\n');
    });

  certs
    .command('issue')
    .description('issue a client certificate <name>.crt / <name>.key signed by the development CA')
    .argument('<name>', 'subject common name, also the file name')
    .option('--san-email <email>', 'subjectAltName email (repeatable)', collect, [])
    .option('--san-dns <name>', 'subjectAltName DNS name (repeatable)', collect, [])
    .option('--san-uri <uri>', 'subjectAltName URI, e.g. a SPIFFE ID (repeatable)', collect, [])
    .option('--san-ip <address>', 'subjectAltName IP address (repeatable)', collect, [])
    .option('--days <n>', 'validity in days', '90')
    .option('--out <dir>', 'directory to write the files to (default: current directory)')
    .option('--force', 'overwrite existing files')
    .action(async (name: string, flags: IssueFlags) => {
      if (!/^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/.test(name)) throw new UsageError(`certificate name ${JSON.stringify(name)} must be 1-64 letters, digits, '.', '_', '@' or '-'`);
      if (!/^\d+$/.test(flags.days) || Number(flags.days) < 1 || Number(flags.days) > 3650) throw new UsageError('--days must be a whole number from 1 to 3650');
      const sans = { email: flags.sanEmail, dns: flags.sanDns, uri: flags.sanUri, ip: flags.sanIp };
      const problems = sanProblems(sans);
      if (problems.length) throw new UsageError(problems.join('; '));
      const config = loadConfig();
      const { certPath, keyPath } = await issueClientCertificate(config.certsDir, name, { sans, days: Number(flags.days), outDir: resolve(flags.out ?? '.'), force: flags.force });
      process.stdout.write(`Issued ${certPath}\n   key ${keyPath} (mode 0600)\n`);
      const fields = [
        `tls_client_auth_subject_dn: CN=${name}`,
        ...sans.email.map((v) => `tls_client_auth_san_email: ${v}`),
        ...sans.dns.map((v) => `tls_client_auth_san_dns: ${v}`),
        ...sans.uri.map((v) => `tls_client_auth_san_uri: ${v}`),
        ...sans.ip.map((v) => `tls_client_auth_san_ip: ${v}`),
      ];
      process.stdout.write(`Register the client with one of:\n${fields.map((f) => `  ${f}`).join('\n')}\n`);
    });
}
