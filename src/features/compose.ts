import type { Middleware } from 'koa';
import type Provider from 'oidc-provider';
import type { ProviderContext } from '../provider/context.ts';
import { createProvider } from '../provider/provider.ts';
import type { Feature } from './feature.ts';

/**
 * Builds an oidc-provider instance with the features' configuration merged in and their grants
 * and behaviour installed. Throws what createProvider throws (ConfigError for a bad configuration
 * or static client).
 */
export function createFeaturedProvider(ctx: ProviderContext, features: readonly Feature[]): Provider {
  const parts = features.flatMap((f) => (f.configuration ? [(c: ProviderContext) => f.configuration!(c)] : []));
  const provider = createProvider(ctx, parts);
  for (const feature of features) feature.install?.(provider);
  return provider;
}

/** The features' routes and middleware for one provider instance, in feature order. */
export function featureRoutes(provider: Provider, features: readonly Feature[]): Middleware[] {
  return features.flatMap((f) => f.routes?.(provider) ?? []);
}
