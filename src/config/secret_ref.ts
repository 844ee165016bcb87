import { z } from 'zod';

/** Where a secret comes from: a file (Kubernetes/Docker secrets) or an environment variable, never the value itself. */
export const secretRef = z
  .object({ file: z.string().min(1).optional(), env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name').optional() })
  .strict()
  .refine((r) => (r.file === undefined) !== (r.env === undefined), 'give exactly one of "file" or "env"');
