import { BlockList, isIP } from 'node:net';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { PKI_FILES } from '../pki/files.ts';
import { parseEnv } from 'node:util';
import { ConfigError } from '../shared/errors.ts';
import { type ConnectorConfig, loadConnectors } from './connectors.ts';
import { isPlainText, type LdapConnectorConfig } from './ldap_connector.ts';
import { settings, type Settings } from './schema.ts';

/** The configuration every module receives: validated settings plus values derived from them. */
export interface Config extends Settings {
  store: 'sqlite' | 'mongodb' | 'memory';
  /** Absolute data directory. */
  dataDir: string;
  certsDir: string;
  sqliteFile: string;
  /** GATEHOUSE_REGISTRATION with its mode-dependent default applied. */
  registration: 'open' | 'token' | 'closed';
  /** Absolute paths the mTLS listener reads, defaults filled in from the certs dir. */
  mtlsFiles: { cert: string; key: string; ca: string };
  /** Whether every mTLS file path is the certs-dir default (only then may development generate them). */
  mtlsFilesDefault: boolean;
  /** Upstream OpenID Connect providers from GATEHOUSE_CONNECTORS_FILE, secrets resolved. */
  connectors: ConnectorConfig[];
  /** Company directories (`"type": "ldap"` in the same file), secrets and CA files read. */
  ldapConnectors: LdapConnectorConfig[];
  /** Insecure development defaults in use, each to be logged once at start. */
  warnings: string[];
}

export interface LoadConfigOptions {
  /** Environment to read; defaults to `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** `.env` file to merge under the environment; defaults to `./.env` when present. */
  envFile?: string | false;
  cwd?: string;
}

/** Reads the raw strings: the environment wins over the `.env` file. */
function rawValues(options: LoadConfigOptions): Record<string, string | undefined> {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  let fromFile: Record<string, string | undefined> = {};
  const file = options.envFile === undefined ? resolve(cwd, '.env') : options.envFile;
  if (file && existsSync(file)) {
    try {
      fromFile = parseEnv(readFileSync(file, 'utf8'));
    } catch (err) {
      throw new ConfigError([`${file}: cannot be read (${(err as Error).message})`]);
    }
  }
  return { ...fromFile, ...env };
}

/**
 * Loads, validates and derives the configuration.
 * @throws ConfigError with one line per problem, each naming the variable.
 */
export function loadConfig(options: LoadConfigOptions = {}): Config {
  const raw = rawValues(options);
  const cwd = options.cwd ?? process.cwd();
  const problems: string[] = [];
  const values: Record<string, unknown> = {};

  for (const [key, s] of Object.entries(settings)) {
    const given = raw[s.env];
    const value = given === undefined || given === '' ? s.default : given;
    if (value === undefined) {
      values[key] = undefined;
      continue;
    }
    const result = s.schema.safeParse(value);
    if (result.success) {
      values[key] = result.data;
    } else {
      const shown = s.secret ? '(hidden)' : JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);
      problems.push(`${s.env}: ${result.error.issues.map((i) => i.message).join('; ')} (got ${shown})`);
    }
  }
  if (problems.length) throw new ConfigError(problems);

  const v = values as unknown as Settings;
  const dataDir = resolve(cwd, v.dataDir);
  const certsDir = resolve(cwd, v.certsDir);
  const connectors = loadConnectors(v.connectorsFile, raw, cwd, problems);
  const config: Config = {
    ...v,
    store: v.store ?? (v.mongodbUri ? 'mongodb' : 'sqlite'),
    dataDir,
    certsDir,
    sqliteFile: resolve(dataDir, v.sqliteFile ?? 'gatehouse.db'),
    registration: v.registration ?? (v.mode === 'production' ? 'token' : 'open'),
    mtlsFiles: {
      cert: resolve(cwd, v.mtlsCertFile ?? join(certsDir, PKI_FILES.serverCert)),
      key: resolve(cwd, v.mtlsKeyFile ?? join(certsDir, PKI_FILES.serverKey)),
      ca: resolve(cwd, v.mtlsCaFile ?? join(certsDir, PKI_FILES.rootCa)),
    },
    mtlsFilesDefault: !v.mtlsCertFile && !v.mtlsKeyFile && !v.mtlsCaFile,
    connectors: connectors.oidc,
    ldapConnectors: connectors.ldap,
    warnings: [],
  };
  checkModeRules(config, problems);
  if (problems.length) throw new ConfigError(problems);
  return config;
}

/** Loopback and unspecified addresses; IPv4-mapped IPv6 (`::ffff:127.0.0.1`) matches the IPv4 rules. */
const THIS_MACHINE = new BlockList();
THIS_MACHINE.addSubnet('127.0.0.0', 8, 'ipv4');
THIS_MACHINE.addSubnet('0.0.0.0', 8, 'ipv4');
THIS_MACHINE.addAddress('::1', 'ipv6');
THIS_MACHINE.addAddress('::', 'ipv6');

/**
 * Whether a URL's hostname (as `new URL()` gives it: lower case, IPv4 normalised, IPv6 in brackets)
 * names this machine: `localhost` or a subdomain of it (RFC 6761 §6.3), with or without the root's
 * trailing dot, or a loopback or unspecified address.
 */
function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').replace(/\.$/, '');
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  const family = isIP(host);
  return family !== 0 && THIS_MACHINE.check(host, family === 6 ? 'ipv6' : 'ipv4');
}

/** Production refuses what development only warns about. */
function checkModeRules(config: Config, problems: string[]): void {
  const prod = config.mode === 'production';
  const rule = (bad: boolean, env: string, message: string) => {
    if (!bad) return;
    if (prod) problems.push(`${env}: ${message} (not allowed in production mode)`);
    else config.warnings.push(`${env}: ${message} — acceptable only in development`);
  };
  rule(new URL(config.issuer).protocol !== 'https:', 'GATEHOUSE_ISSUER', 'issuer is not https');
  rule(!config.jwksFile, 'GATEHOUSE_JWKS_FILE', 'no signing keys supplied, so they would be generated into the data directory');
  rule(!config.cookieKeys, 'GATEHOUSE_COOKIE_KEYS', 'no cookie keys supplied, so they would be generated into the data directory');
  rule(config.registration === 'open', 'GATEHOUSE_REGISTRATION', 'anyone who can reach /reg may register a client');
  for (const c of config.connectors) rule(new URL(c.issuer).protocol !== 'https:', 'GATEHOUSE_CONNECTORS_FILE', `connector "${c.id}" has an http: issuer`);
  for (const c of config.ldapConnectors) rule(isPlainText(c), 'GATEHOUSE_CONNECTORS_FILE', `connector "${c.id}" sends passwords over plain-text ldap:// (allowInsecure)`);
  // A connectors file that failed to load is already named; "no connector" would only add a false lead.
  const connectorsBroken = problems.some((p) => p.startsWith('GATEHOUSE_CONNECTORS_FILE:'));
  if (!config.localAccounts && !connectorsBroken && config.connectors.length + config.ldapConnectors.length === 0) {
    problems.push('GATEHOUSE_LOCAL_ACCOUNTS: false needs at least one connector in GATEHOUSE_CONNECTORS_FILE, or nobody can sign in');
  }
  if (config.store === 'memory') rule(true, 'GATEHOUSE_STORE', 'memory store loses all state on restart');
  if (config.mtlsEnabled) {
    // Discovery sends certificate clients to this origin (mtls_endpoint_aliases, RFC 8705 §5).
    const origin = new URL(config.mtlsOrigin);
    rule(origin.protocol !== 'https:', 'GATEHOUSE_MTLS_ORIGIN', `${config.mtlsOrigin} is not https; the mTLS listener only speaks TLS`);
    if (prod && isLoopbackHost(origin.hostname)) {
      problems.push(`GATEHOUSE_MTLS_ORIGIN: ${config.mtlsOrigin} names this machine, so clients elsewhere would be sent there; set the origin clients use to reach the mTLS listener (required in production mode unless GATEHOUSE_MTLS_ENABLED=false)`);
    }
  }
  if (config.mtlsEnabled && prod) {
    const missing = (
      [
        ['GATEHOUSE_MTLS_CERT_FILE', config.mtlsFiles.cert],
        ['GATEHOUSE_MTLS_KEY_FILE', config.mtlsFiles.key],
        ['GATEHOUSE_MTLS_CA_FILE', config.mtlsFiles.ca],
      ] as const
    ).filter(([, path]) => !existsSync(path));
    for (const [env, path] of missing) {
      problems.push(`${env}: ${path} does not exist (required in production mode unless GATEHOUSE_MTLS_ENABLED=false)`);
    }
  }
  if (config.clientCertHeader && config.trustedProxies.length === 0) {
    problems.push('GATEHOUSE_CLIENT_CERT_HEADER: requires GATEHOUSE_TRUSTED_PROXIES naming the proxies allowed to send it');
  }
  if (config.store === 'mongodb' && !config.mongodbUri) {
    problems.push('MONGODB_URI: required when GATEHOUSE_STORE is mongodb');
  }
}
