import { duration, setting, str } from '../setting.ts';

/** Statically configured clients, and how long a replica may keep stored client metadata. */
export const clients = {
  clientsFile: setting({
    env: 'GATEHOUSE_CLIENTS_FILE',
    schema: str(),
    type: 'path',
    description: 'JSON array of client metadata loaded at start (GitOps-style clients, read-only at runtime).',
  }),
  clientCacheTtl: setting({
    env: 'GATEHOUSE_CLIENT_CACHE_TTL',
    schema: duration(0, 300),
    default: '5s',
    type: 'duration',
    description:
      'How long a replica keeps stored client metadata in memory: on MongoDB a change made on another replica or with `gatehouse clients` applies within it (changes through this replica at once, on SQLite all changes within 50 ms; 0 = read the store every time).',
  }),
} as const;
