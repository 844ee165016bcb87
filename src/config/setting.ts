import { z } from 'zod';

/**
 * One configuration setting: where it comes from, what it means and how it is validated.
 * Every setting Gatehouse reads is declared exactly once with this helper, in `src/config/settings/`.
 */
export interface Setting<S extends z.ZodType = z.ZodType> {
  /** Environment variable name. */
  env: string;
  /** Validates and converts the raw string. */
  schema: S;
  /** Default as the string an operator would write; `undefined` means "unset". */
  default?: string;
  /** Human type name for the docs table. */
  type: string;
  /** One line for the README and `.env.example`. */
  description: string;
  /** Never printed, logged or shown in docs examples. */
  secret?: boolean;
}

/** Declares a setting, keeping its literal shape so a declared default makes the value non-optional. */
export function setting<S extends z.ZodType, T extends Setting<S>>(s: T & Setting<S>): T {
  return s;
}

export const str = () => z.string().min(1, 'must not be empty');

export const int = (min: number, max: number) =>
  z.string().regex(/^\d+$/, 'must be a whole number').transform(Number).pipe(z.number().int().min(min).max(max));

export const port = () => int(0, 65535);

export const bool = () =>
  z.enum(['true', 'false', '1', '0', 'yes', 'no'], { message: 'must be true or false' }).transform((v) => v === 'true' || v === '1' || v === 'yes');

export const httpUrl = () =>
  z.string().refine((v) => {
    try {
      const u = new URL(v);
      return (u.protocol === 'http:' || u.protocol === 'https:') && !u.search && !u.hash && !u.username && !u.password;
    } catch {
      return false;
    }
  }, 'must be an http(s) URL without query, fragment or credentials').transform((v) => v.replace(/\/+$/, ''));

export const list = () => z.string().transform((v) => v.split(',').map((s) => s.trim()).filter(Boolean));

/** Durations like `600`, `90s`, `10m`, `1h`, `14d`, converted to seconds. */
export const duration = (minSeconds = 1, maxSeconds = 366 * 86400) =>
  z
    .string()
    .regex(/^\d+[smhd]?$/, 'must be a duration like 600, 90s, 10m, 1h or 14d')
    .transform((v) => {
      const unit = v.at(-1) ?? '';
      const n = Number.parseInt(v, 10);
      const mult = unit === 'm' ? 60 : unit === 'h' ? 3600 : unit === 'd' ? 86400 : 1;
      return n * mult;
    })
    .pipe(z.number().int().min(minSeconds).max(maxSeconds));
