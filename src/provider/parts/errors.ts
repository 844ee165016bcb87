import type { Configuration } from 'oidc-provider';
import { renderPage } from '../../shared/views.ts';

/** Every OAuth error a browser sees becomes our error page; JSON clients get the OAuth error body. */
export function errorsPart(): Configuration {
  return {
    async renderError(ctx, out) {
      await renderPage(ctx, 'error', {
        title: 'Something went wrong',
        error: String(out.error),
        description: typeof out.error_description === 'string' ? out.error_description : undefined,
      });
    },
  };
}
