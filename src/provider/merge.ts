type Obj = Record<string, unknown>;

const isPlain = (v: unknown): v is Obj => typeof v === 'object' && v !== null && Object.getPrototypeOf(v) === Object.prototype;

/**
 * Merges configuration parts: plain objects merge key by key, anything else (arrays, functions,
 * classes) is replaced by the later part. Lets each concern own its slice of `features`.
 */
export function mergeParts<T extends object>(...parts: object[]): T {
  const out: Obj = {};
  for (const part of parts) {
    for (const [k, v] of Object.entries(part as Obj)) {
      out[k] = isPlain(v) && isPlain(out[k]) ? mergeParts<Obj>(out[k] as Obj, v) : v;
    }
  }
  return out as T;
}
