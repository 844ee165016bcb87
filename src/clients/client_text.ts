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
 * joiners and spaces, soft hyphens, the BOM…), controls (Cc) and line/paragraph separators, and
 * the other default-ignorable code points, which render as nothing (Hangul fillers U+115F, U+3164,
 * which are letters, and the combining grapheme joiner) — except variation selectors, which pick
 * an emoji's presentation (U+2764 U+FE0F).
 * A right-to-left override can make one name read as another; a filler makes a blank one.
 */
const INVISIBLE = /(?![\uFE00-\uFE0F\u{E0100}-\u{E01EF}\u180B-\u180D\u180F])[\p{Cf}\p{Cc}\p{Zl}\p{Zp}\p{Default_Ignorable_Code_Point}]/u;

/**
 * What is not text at all: half of a UTF-16 surrogate pair (a JSON `\ud800` escape) and U+FFFD,
 * which the body and form decoders make of bytes that are not UTF-8.
 */
const NOT_TEXT = /[\p{Cs}\uFFFD]/u;

/** The text with every character `checkDisplayedText` refuses replaced (for records stored before the rule). */
export function replaceInvisible(text: string, by = '?'): string {
  return text.replace(new RegExp(INVISIBLE.source, 'gu'), by);
}

const codePointOf = (char: string) => `U+${char.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;

function fieldName(key: string): string | undefined {
  const base = key.split('#')[0]!;
  return SHOWN_TO_PEOPLE.includes(base) ? base : undefined;
}

/**
 * Refuses client metadata whose human-readable values are not well-formed text (U+FFFD from
 * bytes that were not UTF-8, lone surrogates) or contain invisible format or control
 * characters: `invalid_client_metadata` naming the field and the code point. Runs wherever
 * client rules run (registration, RFC 7592 update, `gatehouse clients`, the static clients file).
 * @see RFC 7591 §2.2 and §5 (self-asserted metadata), Unicode TR #9 (bidi controls), TR #36 §2
 */
export function checkDisplayedText(m: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(m)) {
    if (!fieldName(key)) continue;
    for (const text of Array.isArray(value) ? value : [value]) {
      if (typeof text !== 'string') continue;
      const broken = NOT_TEXT.exec(text);
      if (broken) {
        throw new errors.InvalidClientMetadata(`${key} must be well-formed UTF-8 text (found ${codePointOf(broken[0])}: bytes that are not UTF-8, or half a surrogate pair)`);
      }
      const found = INVISIBLE.exec(text);
      if (found) {
        throw new errors.InvalidClientMetadata(`${key} must not contain invisible formatting or control characters such as bidi overrides (found ${codePointOf(found[0])})`);
      }
    }
  }
}
