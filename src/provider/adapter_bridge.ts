import { hash } from 'node:crypto';
import { errors } from 'oidc-provider';
import type { Adapter, AdapterPayload } from 'oidc-provider';
import type { Store } from '../storage/adapter.ts';
import { StoreUnavailableError } from '../shared/errors.ts';
import { migratedClientRecord, withHashedSecret } from '../clients/client_secret.ts';

/** 503 `temporarily_unavailable` for a store that cannot answer, instead of a 500 storm. */
export function storeDown(cause: unknown): Error {
  const err = new errors.TemporarilyUnavailable('the authorization server storage is unavailable, try again later');
  Object.assign(err, { status: 503, statusCode: 503, cause });
  return err;
}

async function guard<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof StoreUnavailableError) throw storeDown(err);
    throw err;
  }
}

/**
 * Device codes outlive their `exp` in the store by this many seconds: oidc-provider checks `exp`
 * itself and answers `expired_token` (RFC 8628 §3.5) and "code expired" only if it can still find
 * the record; a store that dropped it would make that `invalid_grant` / "incorrect code".
 */
export const EXPIRED_DEVICE_CODE_GRACE = 3600;

/**
 * Redeemable records whose concurrent second redemption revokes the grant: a code or refresh token
 * presented twice at once may have been stolen (RFC 6749 §4.1.2, RFC 9700 §4.14.2). A device code
 * is not among them: only its own authenticated client can poll it, so two polls at once are that
 * client retrying, and exactly one of them gets the tokens (RFC 8628 §3.4 says nothing of revoking).
 */
const GRANT_SOURCES = new Set(['AuthorizationCode', 'RefreshToken', 'BackchannelAuthenticationRequest']);

/**
 * The loser of a concurrent redemption revokes what the winner got, as oidc-provider does when
 * the same code comes back later: every token of the grant, and the grant itself. Tokens the
 * winner writes after this are dead too: oidc-provider checks the grant whenever a token is
 * used (userinfo, introspection, refresh).
 * @see RFC 6749 §4.1.2, RFC 9700 §4.14.2
 */
async function revokeRedeemedGrant(store: Store, model: string, id: string): Promise<void> {
  if (!GRANT_SOURCES.has(model)) return;
  const record = await store.find(model, id);
  const grantId = record?.grantId;
  if (typeof grantId !== 'string' || !grantId) return;
  await store.revokeByGrantId(grantId);
  await store.destroy('Grant', grantId);
}

/**
 * A device code as the token endpoint sees it: without its `consumed` mark. oidc-provider revokes
 * the grant when it finds its grant source already consumed (right for a code coming back,
 * RFC 6749 §4.1.2); for a device code that poll can only be its own client's (a retry, or another
 * replica's poll a moment late), and revoking would take away the tokens the winning poll is
 * being given — with two replicas, sometimes before it has them (no winner at all). Without the
 * mark oidc-provider asks the store to consume the code, the store refuses (it is consumed), and
 * the poll gets `invalid_grant` with the grant untouched: exactly one poll wins (RFC 8628 §3.4
 * names no revocation). The device pages look codes up by user code, where the mark stays.
 */
function withoutConsumed(record: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  if (!record || record.consumed === undefined) return record;
  const { consumed: _consumed, ...rest } = record;
  return rest;
}

/**
 * A copy of a stored client record that oidc-provider may use: the client cache shares one
 * deep-frozen record with every reader (clients/client_cache.ts), and building a client writes
 * into the keys of an inline `jwks` (oidc-provider's client keystore adds `x5t#S256` to a key with
 * `x5c`, for self_signed_tls_client_auth), so those keys are copied too. Nothing else is deep-copied:
 * the rest of the record is only read, or copied by oidc-provider itself.
 */
function writableCopy(record: Record<string, unknown>): Record<string, unknown> {
  const copy = { ...record };
  if (record.jwks !== null && typeof record.jwks === 'object') copy.jwks = structuredClone(record.jwks);
  return copy;
}

/**
 * The stored client as oidc-provider gets it, one per record the client cache holds: the record's
 * fields (a writableCopy: a client rebuilt from the same view writes the same `x5t#S256` into its
 * `jwks` again) and a non-enumerable `toJSON` that answers a SHA-256 of the record computed once. oidc-provider keys the clients it has built by
 * `sha256(JSON.stringify(properties))` on every `Client.find` (lib/models/client.js); without
 * this that is a serialisation and a hash of the whole metadata per request (~8 µs of a token
 * request, bench/README.md). A changed record is a new object in the cache (clients/client_cache.ts
 * replaces, never edits), so it gets a new view and digest, and oidc-provider builds a new client.
 */
const clientViews = new WeakMap<object, Record<string, unknown>>();
/** Every view handed out, so a view that comes back to be written is stored as its fields. */
const isView = new WeakSet<object>();

function clientView(record: Record<string, unknown>): Record<string, unknown> {
  const known = clientViews.get(record);
  if (known) return known;
  const digest = hash('sha256', JSON.stringify(record), 'base64url');
  const view = writableCopy(record);
  Object.defineProperty(view, 'toJSON', { value: () => digest, enumerable: false });
  clientViews.set(record, view);
  isView.add(view);
  return view;
}

/** The fields of a client view (no `toJSON`), anything else as it is. */
function plainPayload(payload: AdapterPayload): AdapterPayload {
  return isView.has(payload) ? { ...payload } : payload;
}

/** The token models oidc-provider looks one presented value up in at once (lib/helpers/token_find.js). */
const TOKEN_MODELS = new Set(['AccessToken', 'ClientCredentials', 'RefreshToken']);

/**
 * `find` for the token models, with the lookups of one id that start in the same synchronous run
 * answered by one `store.findInModels`: introspection and revocation look a presented token up as
 * an access token and a client-credentials token at once (RFC 7662 §2.1, RFC 7009 §2.1), which is
 * otherwise two store queries (two MongoDB round trips) for one value. A lookup alone costs one
 * microtask more than `store.find`. Used for stores that say `coalesceReads` (MongoDB).
 * @returns find(model, id): the live record as `store.find` gives it; rejects as the store does
 */
export function coalescedFind(store: Store): (model: string, id: string) => Promise<Record<string, unknown> | undefined> {
  const waiting = new Map<string, Array<{ model: string; resolve: (p: Record<string, unknown> | undefined) => void; reject: (err: unknown) => void }>>();
  const run = (id: string) => {
    const lookups = waiting.get(id)!;
    waiting.delete(id);
    if (lookups.length === 1) {
      const only = lookups[0]!;
      store.find(only.model, id).then(only.resolve, only.reject);
      return;
    }
    const models = [...new Set(lookups.map((l) => l.model))];
    store.findInModels(models, id).then(
      (found) => {
        // Each caller gets its own copy when two asked for the same model.
        const handedOut = new Set<string>();
        for (const l of lookups) {
          const payload = found.get(l.model);
          l.resolve(payload && handedOut.has(l.model) ? structuredClone(payload) : payload);
          handedOut.add(l.model);
        }
      },
      (err: unknown) => {
        for (const l of lookups) l.reject(err);
      },
    );
  };
  return (model, id) =>
    new Promise((resolve, reject) => {
      let lookups = waiting.get(id);
      if (!lookups) {
        lookups = [];
        waiting.set(id, lookups);
        queueMicrotask(() => run(id));
      }
      lookups.push({ model, resolve, reject });
    });
}

/**
 * The adapter class oidc-provider instantiates per model, backed by one Store.
 * `consume` turns the store's conditional write into `invalid_grant` for the loser of a race,
 * revoking the winner's tokens (`revokeRedeemedGrant`).
 */
export function adapterClass(store: Store): new (name: string) => Adapter {
  const findToken = store.coalesceReads ? coalescedFind(store) : (model: string, id: string) => store.find(model, id);
  return class GatehouseAdapter implements Adapter {
    readonly name: string;
    constructor(name: string) {
      this.name = name;
    }
    async upsert(id: string, payload: AdapterPayload, expiresIn: number): Promise<void> {
      const keep = this.name === 'DeviceCode' && typeof expiresIn === 'number' ? expiresIn + EXPIRED_DEVICE_CODE_GRACE : expiresIn;
      // Client secrets are stored hashed (client_secret.ts); registration hands us the raw one.
      const stored = this.name === 'Client' ? withHashedSecret(plainPayload(payload)) : payload;
      await guard(() => store.upsert(this.name, id, stored as Record<string, unknown>, keep));
    }
    async find(id: string): Promise<AdapterPayload | undefined> {
      const found = await guard(() => (TOKEN_MODELS.has(this.name) ? findToken(this.name, id) : store.find(this.name, id)));
      if (this.name === 'DeviceCode') return withoutConsumed(found) as AdapterPayload | undefined;
      if (this.name !== 'Client') return found as AdapterPayload | undefined;
      const record = await guard(() => migratedClientRecord(store, this.name, id, found));
      return (record ? clientView(record) : undefined) as AdapterPayload | undefined;
    }
    async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
      return guard(() => store.findByUserCode(this.name, userCode)) as Promise<AdapterPayload | undefined>;
    }
    async findByUid(uid: string): Promise<AdapterPayload | undefined> {
      return guard(() => store.findByUid(this.name, uid)) as Promise<AdapterPayload | undefined>;
    }
    async consume(id: string): Promise<void> {
      const won = await guard(() => store.consume(this.name, id));
      if (!won) {
        await guard(() => revokeRedeemedGrant(store, this.name, id));
        throw new errors.InvalidGrant(`${this.name} already consumed`);
      }
    }
    async destroy(id: string): Promise<void> {
      await guard(() => store.destroy(this.name, id));
    }
    async revokeByGrantId(grantId: string): Promise<void> {
      await guard(() => store.revokeByGrantId(grantId));
    }
  };
}
