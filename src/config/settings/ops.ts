import { z } from 'zod';
import { bool, port, setting, str } from '../setting.ts';

/** Operations: the admin listener with Prometheus metrics. */
export const ops = {
  metricsEnabled: setting({
    env: 'GATEHOUSE_METRICS',
    schema: bool(),
    default: 'true',
    type: 'boolean',
    description: 'Serve Prometheus metrics at /metrics on the admin listener (never on the public or mTLS listener).',
  }),
  adminHost: setting({
    env: 'GATEHOUSE_ADMIN_HOST',
    schema: str(),
    default: '127.0.0.1',
    type: 'address',
    description: 'Address of the admin listener (0.0.0.0 in a pod so Prometheus can scrape it; restrict with a NetworkPolicy or a token).',
  }),
  adminPort: setting({
    env: 'GATEHOUSE_ADMIN_PORT',
    schema: port(),
    default: '9464',
    type: 'port',
    description: 'Admin listener port (0 picks a free port).',
  }),
  metricsToken: setting({
    env: 'GATEHOUSE_METRICS_TOKEN',
    schema: z.string().min(16, 'must be at least 16 characters'),
    type: 'secret',
    description: 'When set, /metrics requires `Authorization: Bearer <token>`.',
    secret: true,
  }),
} as const;
