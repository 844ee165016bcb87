import { argon2, randomBytes, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import { GatehouseError } from '../shared/errors.ts';

const argon2Async = promisify(argon2);

/**
 * argon2id with the OWASP Password Storage Cheat Sheet's first recommendation:
 * 19 MiB of memory, 2 passes, parallelism 1, 16-byte salt, 32-byte tag.
 */
export const ARGON2_PARAMETERS = { memory: 19456, passes: 2, parallelism: 1, tagLength: 32 } as const;

const b64 = (buf: Buffer) => buf.toString('base64').replace(/=+$/, '');

// RFC 8264 §9.9 OldHangulJamo: conjoining jamo, disallowed in the FreeformClass.
const OLD_HANGUL_JAMO = /[\u1100-\u11FF\uA960-\uA97F\uD7B0-\uD7FF]/u;
// FreeformClass §9.11 controls, §9.13 default-ignorable code points, §9.14 unassigned code points;
// and U+FFFD, what every decoder here makes of bytes that are not UTF-8: two different invalid byte
// sequences would otherwise be the same password.
const DISALLOWED = /[\p{Cc}\p{Cn}\p{Cs}\p{Default_Ignorable_Code_Point}\uFFFD]/u;

/**
 * A password prepared and enforced as RFC 8265 §4.2 (the OpaqueString profile of PRECIS):
 * non-ASCII spaces become U+0020, then Unicode NFC, so the same text typed on a keyboard that
 * sends decomposed characters (macOS: `u` + U+0308 for `ü`) is the same password. Undefined
 * when the result is empty or holds what the FreeformClass disallows (controls, default
 * ignorables such as zero-width characters, unassigned code points, old Hangul jamo) or U+FFFD
 * (the replacement character invalid UTF-8 decodes to).
 * No width or case mapping: the password stays exactly what was typed otherwise.
 * @see RFC 8265 §4.2, RFC 8264 §4.3
 */
export function preparePassword(password: string): string | undefined {
  const prepared = password.replace(/\p{Zs}/gu, ' ').normalize('NFC');
  if (!prepared || DISALLOWED.test(prepared) || OLD_HANGUL_JAMO.test(prepared)) return undefined;
  return prepared;
}

/** A password the OpaqueString profile refuses (see `preparePassword`). */
export class DisallowedPasswordError extends GatehouseError {
  constructor() {
    super('ERR_PASSWORD_DISALLOWED', 'the password must not be empty or contain control, invisible (zero-width, format) or unassigned characters, or bytes that are not UTF-8 (U+FFFD)', { status: 400 });
  }
}

/**
 * Hashes a password, prepared by `preparePassword`, into a PHC string:
 * `$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`. Throws DisallowedPasswordError.
 */
export async function hashPassword(password: string): Promise<string> {
  const prepared = preparePassword(password);
  if (prepared === undefined) throw new DisallowedPasswordError();
  return argon2id(prepared);
}

async function argon2id(password: string): Promise<string> {
  const nonce = randomBytes(16);
  const { memory, passes, parallelism, tagLength } = ARGON2_PARAMETERS;
  const tag = await argon2Async('argon2id', { message: password, nonce, memory, passes, parallelism, tagLength });
  return `$argon2id$v=19$m=${memory},t=${passes},p=${parallelism}$${b64(nonce)}$${b64(tag)}`;
}

const PHC = /^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/;

/** What `matchPassword` found: `upgrade` when only the unprepared text matched (a hash from before preparation). */
export interface PasswordMatch {
  ok: boolean;
  upgrade: boolean;
}

/**
 * Checks a password against a PHC string: first as prepared by `preparePassword`, then — for
 * hashes stored before passwords were prepared — as typed, if that differs. A match of the text
 * as typed says `upgrade`: the caller stores `hashPassword(password)` so the next check takes
 * one hash. A password that differs from its prepared form always costs two hashes, whether or
 * not the account exists (`burnPasswordCheck` goes through here too).
 */
export async function matchPassword(password: string, phc: string): Promise<PasswordMatch> {
  const prepared = preparePassword(password);
  if (prepared !== undefined && (await verifyPhc(prepared, phc))) return { ok: true, upgrade: false };
  if (prepared === password) return { ok: false, upgrade: false };
  const ok = await verifyPhc(password, phc);
  return { ok, upgrade: ok && prepared !== undefined };
}

/** True when the password matches (see `matchPassword`). */
export async function verifyPassword(password: string, phc: string): Promise<boolean> {
  return (await matchPassword(password, phc)).ok;
}

/** Checks text against a PHC string made by `argon2id` (its own parameters, so old hashes keep working). */
async function verifyPhc(password: string, phc: string): Promise<boolean> {
  const m = PHC.exec(phc);
  if (!m) return false;
  const [, memory, passes, parallelism, salt, hash] = m;
  const expected = Buffer.from(hash!, 'base64');
  const tag = await argon2Async('argon2id', {
    message: password,
    nonce: Buffer.from(salt!, 'base64'),
    memory: Number(memory),
    passes: Number(passes),
    parallelism: Number(parallelism),
    tagLength: expected.length,
  });
  return timingSafeEqual(tag, expected);
}

let dummy: Promise<string> | undefined;

/**
 * Spends the same work as a real check when there is no account, so response times do not tell
 * an attacker which usernames exist.
 */
export async function burnPasswordCheck(password: string): Promise<void> {
  dummy ??= argon2id(randomBytes(16).toString('hex'));
  await matchPassword(password, await dummy);
}
