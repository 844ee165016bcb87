import type { Configuration } from 'oidc-provider';
import type { ProviderContext } from '../context.ts';

/** Account lookup: a stored `Account` record by id. Local accounts refine the claims. */
export function accountsPart({ store }: ProviderContext): Configuration {
  return {
    async findAccount(_ctx, sub) {
      const account = await store.find('Account', sub);
      if (!account) return undefined;
      return { accountId: sub, claims: async () => ({ sub }) };
    },
  };
}
