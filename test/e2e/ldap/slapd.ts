import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'ldapts';
import { freePort } from '../../helpers/net.ts';

export const BASE_DN = 'dc=example,dc=com';
export const SERVICE_DN = `cn=gatehouse,ou=services,${BASE_DN}`;
const ROOT_DN = `cn=admin,${BASE_DN}`;

/**
 * The people of the test tree: posixAccount entries; posixGroups engineering = alice, carol, dave and
 * sales = bob; and a groupOfNames role, oncall = alice (by DN).
 */
export const PEOPLE = {
  alice: { cn: 'Alice Directory', mail: 'alice@example.com', uidNumber: 3001, gidNumber: 300, groups: ['engineering'] },
  bob: { cn: 'Bob Sales', mail: 'bob@example.com', uidNumber: 3002, gidNumber: 301, groups: ['sales'] },
  carol: { cn: 'Carol Leaving', mail: 'carol@example.com', uidNumber: 3003, gidNumber: 300, groups: ['engineering'] },
  dave: { cn: 'Dave Renamed', mail: 'dave@example.com', uidNumber: 3004, gidNumber: 300, groups: ['engineering'] },
} as const;
export type Person = keyof typeof PEOPLE;

/** A running slapd with its own configuration, database and TLS material in a temp directory. */
export interface TestDirectory {
  /** ldaps:// URL (TLS from the start). */
  ldapsUrl: string;
  /** ldap:// URL for StartTLS. */
  ldapUrl: string;
  /** The test CA's certificate (PEM file). */
  caFile: string;
  /** File holding the service account's password (as an operator would mount it). */
  servicePasswordFile: string;
  /** Each person's password, generated for this run. */
  passwords: Record<Person, string>;
  dir: string;
  /** A client bound as the directory's root, for changing the tree during a test. */
  admin(): Promise<Client>;
  /** Stops the server, keeping its database (the directory "down"). */
  down(): Promise<void>;
  /** Starts it again on the same ports. */
  up(): Promise<void>;
  stop(): Promise<void>;
}

function password(): string {
  return randomBytes(12).toString('base64url');
}

function run(cmd: string, args: string[]): void {
  execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
}

/** A CA and a server certificate for 127.0.0.1 and localhost, made with openssl for this run. */
function makeTls(dir: string): void {
  const p = (f: string) => join(dir, f);
  run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', p('ca.key'), '-out', p('ca.pem'), '-days', '2', '-subj', '/CN=Gatehouse LDAP test CA']);
  run('openssl', ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', p('server.key'), '-out', p('server.csr'), '-subj', '/CN=localhost']);
  writeFileSync(p('ext.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  run('openssl', ['x509', '-req', '-in', p('server.csr'), '-CA', p('ca.pem'), '-CAkey', p('ca.key'), '-CAcreateserial', '-out', p('server.pem'), '-days', '2', '-extfile', p('ext.cnf')]);
}

function ldif(passwords: Record<Person, string>, servicePassword: string): string {
  const entries = [
    `dn: ${BASE_DN}\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example`,
    `dn: ou=people,${BASE_DN}\nobjectClass: organizationalUnit\nou: people`,
    `dn: ou=groups,${BASE_DN}\nobjectClass: organizationalUnit\nou: groups`,
    `dn: ou=services,${BASE_DN}\nobjectClass: organizationalUnit\nou: services`,
    `dn: ${SERVICE_DN}\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\ncn: gatehouse\nuserPassword: ${servicePassword}`,
    ...Object.entries(PEOPLE).map(([uid, p]) =>
      [`dn: uid=${uid},ou=people,${BASE_DN}`, 'objectClass: inetOrgPerson', 'objectClass: posixAccount', `uid: ${uid}`, `cn: ${p.cn}`, `sn: ${p.cn.split(' ')[1]}`, `mail: ${p.mail}`,
        `uidNumber: ${p.uidNumber}`, `gidNumber: ${p.gidNumber}`, `homeDirectory: /home/${uid}`, 'loginShell: /bin/bash', `userPassword: ${passwords[uid as Person]}`].join('\n')),
    `dn: cn=engineering,ou=groups,${BASE_DN}\nobjectClass: posixGroup\ncn: engineering\ngidNumber: 300\nmemberUid: alice\nmemberUid: carol\nmemberUid: dave`,
    `dn: cn=sales,ou=groups,${BASE_DN}\nobjectClass: posixGroup\ncn: sales\ngidNumber: 301\nmemberUid: bob`,
    // For connectors using the `member` style (groups listing DNs): alice is on call.
    `dn: ou=roles,${BASE_DN}\nobjectClass: organizationalUnit\nou: roles`,
    `dn: cn=oncall,ou=roles,${BASE_DN}\nobjectClass: groupOfNames\ncn: oncall\nmember: uid=alice,ou=people,${BASE_DN}`,
  ];
  return `${entries.join('\n\n')}\n`;
}

function slapdConf(dir: string, rootPassword: string): string {
  return `include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
include /etc/ldap/schema/dyngroup.schema
pidfile ${dir}/slapd.pid
argsfile ${dir}/slapd.args
modulepath /usr/lib/ldap
moduleload back_mdb
moduleload ppolicy
moduleload dynlist
TLSCACertificateFile ${dir}/ca.pem
TLSCertificateFile ${dir}/server.pem
TLSCertificateKeyFile ${dir}/server.key
security simple_bind=128
allow bind_anon_dn
database mdb
maxsize 67108864
suffix "${BASE_DN}"
rootdn "${ROOT_DN}"
rootpw ${rootPassword}
directory ${dir}/db
overlay ppolicy
overlay dynlist
dynlist-attrset groupOfURLs memberURL member+memberOf@groupOfNames
access to attrs=userPassword
  by anonymous auth
  by * none
access to *
  by dn.exact="${SERVICE_DN}" read
  by self read
  by * none
`;
}

async function listening(port: number, deadline: number): Promise<void> {
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`slapd did not listen on ${port} in time`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Starts Debian's slapd (installed by test/setup/slapd.sh) with a slapd.conf, a database and a
 * test CA of its own in a temp directory, on free loopback ports: ldaps:// and ldap:// (StartTLS;
 * `security simple_bind=128` refuses a password bind without TLS). `allow bind_anon_dn` makes it
 * accept a DN with an empty password as an anonymous bind, as many servers do: the empty-password
 * test would sign people in if Gatehouse let such a bind through. Loads the small tree above with
 * slapadd; the ppolicy overlay gives `pwdAccountLockedTime` for disabling people, and the dynlist
 * overlay gives people the `memberOf` of their groupOfNames groups (OpenLDAP 2.5's way; Active
 * Directory keeps `memberOf` on the user itself).
 */
export async function startDirectory(): Promise<TestDirectory> {
  if (!existsSync('/usr/sbin/slapd')) throw new Error('slapd is not installed: run test/setup/slapd.sh (npm test does)');
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-slapd-'));
  mkdirSync(join(dir, 'db'));
  makeTls(dir);
  const rootPassword = password();
  const servicePassword = password();
  const passwords = Object.fromEntries(Object.keys(PEOPLE).map((p) => [p, password()])) as Record<Person, string>;
  writeFileSync(join(dir, 'slapd.conf'), slapdConf(dir, rootPassword));
  writeFileSync(join(dir, 'tree.ldif'), ldif(passwords, servicePassword));
  writeFileSync(join(dir, 'service.password'), `${servicePassword}\n`, { mode: 0o600 });
  run('/usr/sbin/slapadd', ['-f', join(dir, 'slapd.conf'), '-l', join(dir, 'tree.ldif')]);
  const ldapsPort = await freePort();
  const ldapPort = await freePort();
  const ldapsUrl = `ldaps://127.0.0.1:${ldapsPort}`;
  const ldapUrl = `ldap://127.0.0.1:${ldapPort}`;
  let child: ChildProcess;
  let exited: Promise<void>;
  const start = async () => {
    let log = '';
    child = spawn('/usr/sbin/slapd', ['-f', join(dir, 'slapd.conf'), '-h', `${ldapsUrl}/ ${ldapUrl}/`, '-d', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.on('data', (b: Buffer) => (log += b.toString()));
    child.stderr?.on('data', (b: Buffer) => (log += b.toString()));
    exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    await Promise.race([listening(ldapsPort, Date.now() + 30_000), exited.then(() => Promise.reject(new Error(`slapd exited: ${log}`)))]);
  };
  const halt = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };
  try {
    await start();
  } catch (err) {
    child!.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const ca = readFileSync(join(dir, 'ca.pem'), 'utf8');
  return {
    ldapsUrl,
    ldapUrl,
    caFile: join(dir, 'ca.pem'),
    servicePasswordFile: join(dir, 'service.password'),
    passwords,
    dir,
    async admin() {
      const client = new Client({ url: ldapsUrl, tlsOptions: { ca } });
      await client.bind(ROOT_DN, rootPassword);
      return client;
    },
    down: halt,
    up: start,
    async stop() {
      await halt();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
