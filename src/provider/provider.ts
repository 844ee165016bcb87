import Provider, { type Configuration } from 'oidc-provider';
import { ConfigError } from '../shared/errors.ts';
import { adapterClass } from './adapter_bridge.ts';
import { withHashedSecret } from '../clients/client_secret.ts';
import type { ProviderContext } from './context.ts';
import { mergeParts } from './merge.ts';
import { corePart } from './parts/core.ts';
import { errorsPart } from './parts/errors.ts';
import { accountsPart } from './parts/accounts.ts';
import { logProviderEvents } from './parts/events.ts';
import { authorizationCodePart } from './parts/authorization_code.ts';
import { discoveryPart } from './parts/discovery.ts';
import { introspectionPart } from './parts/introspection.ts';
import { mtlsPart } from './parts/mtls.ts';
import { registrationPart } from './parts/registration.ts';
import { resourcesPart } from './parts/resources.ts';
import { ttlPart } from './parts/ttl.ts';

/** A slice of the oidc-provider configuration; features (src/features/) contribute theirs as parts. */
export type ConfigurationPart = (ctx: ProviderContext) => Configuration;

/**
 * oidc-provider builds static clients on first use, so a bad entry would only show up as failing
 * requests; building each one now turns it into a start-up error naming the client.
 */
function checkStaticClients(provider: Provider, ctx: ProviderContext): void {
  const Client = provider.Client as unknown as new (metadata: unknown) => unknown;
  const problems: string[] = [];
  for (const metadata of ctx.staticClients) {
    try {
      new Client(metadata);
    } catch (err) {
      const e = err as { error?: string; error_description?: string; message: string };
      problems.push(`GATEHOUSE_CLIENTS_FILE: client ${metadata.client_id}: ${e.error ? `${e.error}: ${e.error_description}` : e.message}`);
    }
  }
  if (problems.length) throw new ConfigError(problems);
}

/**
 * Builds the oidc-provider instance: configuration parts merged in order, the store bridged in as
 * the adapter, keys and static clients from the context. Callers go through
 * features/compose.ts, which adds the features' parts and installs their behaviour.
 */
export function createProvider(ctx: ProviderContext, extraParts: ConfigurationPart[] = []): Provider {
  const configuration = mergeParts<Configuration>(
    corePart(ctx),
    errorsPart(),
    accountsPart(ctx),
    ttlPart(ctx),
    registrationPart(ctx),
    mtlsPart(ctx),
    resourcesPart(ctx),
    authorizationCodePart(),
    introspectionPart(),
    discoveryPart(),
    ...extraParts.map((part) => part(ctx)),
    {
      adapter: adapterClass(ctx.store),
      // Static secrets are held hashed too: every presented secret is hashed before the comparison.
      clients: ctx.staticClients.map(withHashedSecret),
      jwks: ctx.keys.jwks,
      cookies: { keys: ctx.keys.cookieKeys },
    } satisfies Configuration,
  );
  let provider: Provider;
  try {
    provider = new Provider(ctx.config.issuer, configuration);
  } catch (err) {
    throw new ConfigError([`oidc-provider refused the configuration: ${(err as Error).message}`]);
  }
  checkStaticClients(provider, ctx);
  // Forwarded headers are only believed behind a proxy we were told to trust (see http/proxy.ts).
  provider.proxy = ctx.config.trustProxy;
  logProviderEvents(provider, ctx.logger);
  return provider;
}
