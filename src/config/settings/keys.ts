import { list, setting, str } from '../setting.ts';

/** Signing and cookie keys. */
export const keys = {
  jwksFile: setting({
    env: 'GATEHOUSE_JWKS_FILE',
    schema: str(),
    type: 'path',
    description: 'Private signing keys as a JWKS JSON file (RS256 and ES256). Required in production; generated under the data dir in development.',
  }),
  cookieKeys: setting({
    env: 'GATEHOUSE_COOKIE_KEYS',
    schema: list().refine((keys) => keys.length > 0 && keys.every((k) => k.length >= 32), 'must be comma-separated secrets of at least 32 characters each'),
    type: 'secret list',
    description: 'Comma-separated cookie signing secrets, newest first. Required in production; generated in development.',
    secret: true,
  }),
} as const;
