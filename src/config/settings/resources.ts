import { setting, str } from '../setting.ts';

/** Resource servers (APIs) that receive audience-restricted access tokens. */
export const resources = {
  resourceServersFile: setting({
    env: 'GATEHOUSE_RESOURCE_SERVERS_FILE',
    schema: str(),
    type: 'path',
    description: 'JSON object of resource indicators (RFC 8707) to {scope, accessTokenFormat jwt|opaque, signingAlg, accessTokenTTL}; JWT tokens (RFC 9068) are ES256 by default.',
  }),
} as const;
