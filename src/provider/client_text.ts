import { errors } from 'oidc-provider';

/**
 * Client metadata that people read: on the consent and device confirmation pages, in
 * `gatehouse clients list/show`, in audit logs. Language-tagged variants (RFC 7591 §2.2,
 * `client_name#fr`) are checked too, should oidc-provider ever keep them (9.x drops them).
 */
const SHOWN_TO_PEOPLE = ['client_name', 'client_uri', 'logo_uri', 'policy_uri', 'tos_uri', 'contacts', 'software_id', 'software_version'];

/**
 * Characters that change how the text around them is displayed without being visible
 * themselves: Unicode format characters (Cf: bidi overrides and isolates such as U+202E, zero-width
 * joiners and spaces, soft hyphens, the BOM…), controls (Cc) and line/paragraph separators.
 * A right-to-left override can make one name read as another.
 */
const INVISIBLE = /[\p{Cf}\p{Cc}\p{Zl}\p{Zp}]/u;

function fieldName(key: string): string | undefined {
  const base = key.split('#')[0]!;
  return SHOWN_TO_PEOPLE.includes(base) ? base : undefined;
}

/**
 * Refuses client metadata whose human-readable values contain invisible format or control
 * characters: `invalid_client_metadata` naming the field and the code point. Runs wherever
 * client rules run (registration, RFC 7592 update, `gatehouse clients`, the static clients file).
 * @see RFC 7591 §2.2 and §5 (self-asserted metadata), Unicode TR #9 (bidi controls), TR #36 §2
 */
export function checkDisplayedText(m: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(m)) {
    if (!fieldName(key)) continue;
    for (const text of Array.isArray(value) ? value : [value]) {
      if (typeof text !== 'string') continue;
      const found = INVISIBLE.exec(text);
      if (found) {
        const codePoint = `U+${found[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
        throw new errors.InvalidClientMetadata(`${key} must not contain invisible formatting or control characters such as bidi overrides (found ${codePoint})`);
      }
    }
  }
}
