import type { LdapConnectorConfig } from '../../config/ldap_connector.ts';
import type { Logger } from '../../shared/logger.ts';
import type { LdapDirectory } from './directory.ts';

/**
 * Attribute names in an RFC 4515 filter string: the type before `=`, `~=`, `>=`, `<=` or an
 * extensible match's `:` (`(userAccountControl:1.2.840.113556.1.4.803:=2)` → `userAccountControl`).
 * Values escape parentheses (`\28`), so every `(` opens an item. Options (`;binary`) are dropped.
 */
export function filterAttributes(filter: string): string[] {
  const names = [...filter.matchAll(/\(\s*([A-Za-z][A-Za-z0-9-]*|\d+(?:\.\d+)+)(?:;[A-Za-z0-9;-]*)?\s*(?:[~<>]?=|:)/g)].map((m) => m[1]!);
  return [...new Set(names)];
}

/** Every attribute name the connector asks the directory about, with the setting it comes from. */
export function configuredAttributes(c: LdapConnectorConfig): Array<{ setting: string; name: string }> {
  const out: Array<{ setting: string; name: string }> = [];
  const add = (setting: string, name: string | undefined) => name && out.push({ setting, name });
  for (const name of filterAttributes(c.userSearch.filter)) add('userSearch.filter', name);
  add('userSearch.usernameAttribute', c.userSearch.usernameAttribute);
  if (c.disabledFilter) for (const name of filterAttributes(c.disabledFilter)) add('disabledFilter', name);
  for (const [key, name] of Object.entries(c.attributes)) add(`attributes.${key}`, name);
  const g = c.groupSearch;
  if (g) {
    if (g.style !== 'memberOf') for (const name of filterAttributes(g.filter)) add('groupSearch.filter', name);
    add('groupSearch.memberAttribute', g.memberAttribute ?? (g.style === 'member' ? 'member' : g.style));
    add('groupSearch.nameAttribute', g.nameAttribute);
  }
  return out;
}

/** Names and OIDs of `attributeTypes` values (RFC 4512 §4.1.2), lower-cased. */
export function attributeTypeNames(definitions: string[]): Set<string> {
  const names = new Set<string>();
  for (const d of definitions) {
    const oid = /^\(\s*([\d.]+)/.exec(d)?.[1];
    if (oid) names.add(oid);
    const list = /\sNAME\s+(\(\s*(?:'[^']*'\s*)+\)|'[^']*')/.exec(d)?.[1] ?? '';
    for (const m of list.matchAll(/'([^']*)'/g)) names.add(m[1]!.toLowerCase());
  }
  return names;
}

/**
 * Compares the connector's attribute names with the directory's schema, once, in the background:
 * a name the schema does not define (a typo, or `pwdAccountLockedTime` without the ppolicy overlay)
 * makes a filter Undefined (RFC 4511 §4.5.1.7), so nobody is found and every password looks wrong.
 * Logs `ldap.unknown_attributes` naming the settings; a directory that cannot be asked, or whose
 * schema cannot be read, logs at debug level only (sign-ins report outages themselves).
 */
export async function checkDirectorySchema(directory: LdapDirectory, logger: Logger): Promise<string[]> {
  const id = directory.config.id;
  let known: Set<string>;
  try {
    known = attributeTypeNames(await directory.schemaAttributeTypes());
  } catch (err) {
    logger.debug({ event: 'ldap.schema_unread', connector: id, error: (err as Error).message }, `directory ${id}: schema not read`);
    return [];
  }
  if (known.size === 0) return [];
  const unknown = configuredAttributes(directory.config).filter((a) => !known.has(a.name.toLowerCase()));
  if (unknown.length > 0) {
    const list = unknown.map((a) => `${a.name} (${a.setting})`);
    logger.warn({ event: 'ldap.unknown_attributes', connector: id, attributes: list }, `directory ${id}: its schema defines no attribute ${list.join(', ')}; a filter naming one matches nobody, so every password looks wrong (check the spelling, or load the schema or overlay that defines it)`);
    return list;
  }
  return [];
}
