type Obj = Record<string, unknown>;
type Validator = (...args: unknown[]) => unknown;

const isPlain = (v: unknown): v is Obj => typeof v === 'object' && v !== null && Object.getPrototypeOf(v) === Object.prototype;

/**
 * Keys several parts may each contribute to, combined instead of replaced: every part's extra
 * client metadata properties are declared, and every part's validator runs (in part order).
 */
const COMBINE: Record<string, (a: Obj, b: Obj) => Obj> = {
  extraClientMetadata: (a, b) => {
    const validators = [a.validator, b.validator].filter((v): v is Validator => typeof v === 'function');
    return {
      ...a,
      ...b,
      properties: [...new Set([...((a.properties as string[]) ?? []), ...((b.properties as string[]) ?? [])])],
      ...(validators.length
        ? {
            // oidc-provider requires a synchronous validator.
            validator(...args: unknown[]) {
              for (const v of validators) v(...args);
            },
          }
        : {}),
    };
  },
};

/**
 * Merges configuration parts: plain objects merge key by key, anything else (arrays, functions,
 * classes) is replaced by the later part, except the keys in COMBINE. Lets each concern own its
 * slice of `features`.
 */
export function mergeParts<T extends object>(...parts: object[]): T {
  const out: Obj = {};
  for (const part of parts) {
    for (const [k, v] of Object.entries(part as Obj)) {
      const combine = COMBINE[k];
      if (combine && isPlain(out[k]) && isPlain(v)) out[k] = combine(out[k] as Obj, v);
      else out[k] = isPlain(v) && isPlain(out[k]) ? mergeParts<Obj>(out[k] as Obj, v) : v;
    }
  }
  return out as T;
}
