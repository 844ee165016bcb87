import type * as Ldapts from 'ldapts';
import { z } from 'zod';
import { lazyModule } from '../shared/lazy_module.ts';
import { secretRef } from './secret_ref.ts';
import type { Secret } from '../shared/secret.ts';

/** An LDAP attribute description (RFC 4512 §2.5): a name or an OID, no options. */
const attribute = z.string().regex(/^([A-Za-z][A-Za-z0-9-]{0,63}|\d+(\.\d+)+)$/, 'must be an LDAP attribute name');
/** ldapts, loaded only when an LDAP connector is configured (shared/lazy_module.ts). */
const ldapts = lazyModule<typeof Ldapts>('ldapts');

/** A filter the operator writes: one parenthesised RFC 4515 filter that ldapts can parse. */
const filter = z.string().min(3).max(1024).refine((v) => {
  if (!/^\(.*\)$/s.test(v)) return false;
  // Values escape parentheses as \28 / \29, so every one left is structure: they must balance.
  let depth = 0;
  for (const ch of v) {
    depth += ch === '(' ? 1 : ch === ')' ? -1 : 0;
    if (depth < 0) return false;
  }
  if (depth !== 0) return false;
  try {
    ldapts().FilterParser.parseString(v);
    return true;
  } catch {
    return false;
  }
}, 'must be an LDAP filter in parentheses (RFC 4515), e.g. "(objectClass=person)"');
const dn = z.string().min(1).max(1024);

const ldapUrl = z.string().refine((v) => {
  try {
    const u = new URL(v);
    return (u.protocol === 'ldaps:' || u.protocol === 'ldap:') && !u.username && !u.password && (u.pathname === '' || u.pathname === '/') && !u.search && !u.hash;
  } catch {
    return false;
  }
}, 'must be ldaps://host[:port] or ldap://host[:port]');


/**
 * One entry of `GATEHOUSE_CONNECTORS_FILE` with `"type": "ldap"`: a company directory (OpenLDAP,
 * FreeIPA, Active Directory) that checks usernames and passwords typed into Gatehouse's own form.
 */
export const ldapConnectorSchema = z
  .object({
    type: z.literal('ldap'),
    id: z.string().regex(/^[a-z0-9][a-z0-9-]{0,31}$/, 'must be 1-32 lower-case letters, digits or "-"'),
    label: z.string().min(1).max(60),
    /** Tried in order; the next one when a server does not answer. */
    url: z.union([ldapUrl.transform((u) => [u]), z.array(ldapUrl).min(1).max(10)]),
    /** Upgrade ldap:// with StartTLS (RFC 4513 §3); ldaps:// is TLS from the start. */
    startTls: z.boolean().default(false),
    /** PEM file with the CA(s) that issued the directory's certificate; the system CAs otherwise. */
    caFile: z.string().min(1).optional(),
    /** Plain-text LDAP (passwords on the wire): development only, refused in production mode. */
    allowInsecure: z.boolean().default(false),
    /** The service account used to search; anonymous search when absent. */
    bindDn: dn.optional(),
    bindPassword: secretRef.optional(),
    userSearch: z
      .object({
        baseDn: dn,
        /** Who may sign in at all, ANDed with the username match. */
        filter: filter.default('(objectClass=person)'),
        /** `uid` (OpenLDAP, FreeIPA), `sAMAccountName` or `userPrincipalName` (AD). */
        usernameAttribute: attribute.default('uid'),
        scope: z.enum(['sub', 'one']).default('sub'),
      })
      .strict(),
    /** Matches users who may no longer sign in (e.g. AD's disabled bit, OpenLDAP ppolicy lock). */
    disabledFilter: filter.optional(),
    attributes: z
      .object({
        /** Stable id the account is keyed by: `entryUUID` (OpenLDAP), `objectGUID` (AD), `ipaUniqueID`. */
        id: attribute.default('entryUUID'),
        username: attribute.optional(),
        email: attribute.default('mail'),
        name: attribute.default('cn'),
        uidNumber: attribute.optional(),
        gidNumber: attribute.optional(),
      })
      .strict()
      .default({ id: 'entryUUID', email: 'mail', name: 'cn' }),
    groupSearch: z
      .object({
        /** `member`: groups listing the user's DN; `memberUid`: groups listing the username; `memberOf`: the user's own attribute. */
        style: z.enum(['member', 'memberUid', 'memberOf']),
        baseDn: dn.optional(),
        filter: filter.default('(objectClass=*)'),
        /** The group attribute holding members (`member`, `uniqueMember`, `memberUid`) or the user's (`memberOf`). */
        memberAttribute: attribute.optional(),
        nameAttribute: attribute.default('cn'),
      })
      .strict()
      .refine((g) => g.style === 'memberOf' || g.baseDn !== undefined, 'baseDn is needed unless style is "memberOf"')
      .optional(),
    allowedEmailDomains: z.array(z.string().regex(/^[a-z0-9.-]+\.[a-z]{2,}$/i, 'must be a domain like example.com').transform((d) => d.toLowerCase())).default([]),
    /** The person must be in at least one of these directory groups. */
    requiredGroups: z.array(z.string().min(1)).default([]),
    /** How old (seconds) the last directory check of an account may be when a refresh token is used. */
    recheckSeconds: z.number().int().min(0).max(86_400).default(300),
    /** Per-operation and connect timeout, seconds. */
    timeoutSeconds: z.number().int().min(1).max(60).default(10),
  })
  .strict()
  .refine((c) => (c.bindDn === undefined) === (c.bindPassword === undefined), 'give "bindDn" and "bindPassword" together (or neither, for anonymous search)')
  .refine((c) => c.url.every((u) => u.startsWith('ldaps:')) || c.startTls || c.allowInsecure, 'ldap:// needs "startTls": true (or "allowInsecure": true, development only)');

type LdapInput = z.output<typeof ldapConnectorSchema>;

/** An LDAP connector with its service password and CA file read. */
export interface LdapConnectorConfig extends Omit<LdapInput, 'bindPassword' | 'caFile'> {
  bindPassword?: Secret;
  /** PEM text of the CA file, when one is named. */
  ca?: string;
  caFile?: string;
}

/** Whether a connector sends passwords without TLS (refused in production mode). */
export function isPlainText(c: LdapConnectorConfig): boolean {
  return c.url.some((u) => u.startsWith('ldap:')) && !c.startTls;
}
