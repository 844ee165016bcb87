import { setting, str } from '../setting.ts';

/** Statically configured clients. */
export const clients = {
  clientsFile: setting({
    env: 'GATEHOUSE_CLIENTS_FILE',
    schema: str(),
    type: 'path',
    description: 'JSON array of client metadata loaded at start (GitOps-style clients, read-only at runtime).',
  }),
} as const;
