import { duration, list, setting, str } from '../setting.ts';

/** Signing and cookie keys. */
export const keys = {
  jwksFile: setting({
    env: 'GATEHOUSE_JWKS_FILE',
    schema: str(),
    type: 'path',
    description: 'Private signing keys as a JWKS JSON file (RS256 and ES256, and a key for each other signingAlg of GATEHOUSE_RESOURCE_SERVERS_FILE). Required in production; generated under the data dir in development.',
  }),
  cookieKeys: setting({
    env: 'GATEHOUSE_COOKIE_KEYS',
    schema: list().refine((keys) => keys.length > 0 && keys.every((k) => k.length >= 32), 'must be comma-separated secrets of at least 32 characters each'),
    type: 'secret list',
    description: 'Comma-separated cookie signing secrets, newest first. Required in production; generated in development.',
    secret: true,
  }),
  keyActivationDelay: setting({
    env: 'GATEHOUSE_KEY_ACTIVATION_DELAY',
    schema: duration(0, 30 * 86400),
    default: '1h',
    type: 'duration',
    description: 'How long `gatehouse keys rotate` publishes a new signing key in JWKS before it starts signing (covers clients caching JWKS).',
  }),
  keyRetirementGrace: setting({
    env: 'GATEHOUSE_KEY_RETIREMENT_GRACE',
    schema: duration(0, 366 * 86400),
    default: '24h',
    type: 'duration',
    description: 'How long a retired signing key keeps verifying before `gatehouse keys prune` removes it (at least the longest token lifetime).',
  }),
} as const;
