import type { Collection, CreateIndexesOptions, Db, Document, Filter, IndexSpecification, WriteConcernSettings } from 'mongodb';
import { isNotImplemented } from './mongodb_errors.ts';

/** Consumes, rotations and token writes must survive a primary failover. */
export const MAJORITY: { writeConcern: WriteConcernSettings } = { writeConcern: { w: 'majority' } };

/** Records not expired at `now` (epoch ms): no `expiresAt`, or a later one. */
export const live = (now: number): Filter<RecordDoc> => ({ $or: [{ expiresAt: { $exists: false } }, { expiresAt: { $gt: new Date(now) } }] });

/** The collections the store uses. Records of every model share one collection. */
export interface Collections {
  /** `{ _id: "<model>:<id>", model, id, payload (JSON text), gen, grantId?, userCode?, uid?, expiresAt?, consumed?, fields? }` */
  records: Collection<RecordDoc>;
  /** One document per consumed record generation; the unique `_id` decides the single winner. */
  claims: Collection<ClaimDoc>;
  /** Fixed rate-limit windows: `{ _id: "<key>#<gen>", key, gen, resetAt, expiresAt }`. */
  windows: Collection<WindowDoc>;
  /** One document per counted event, pointing at its window. */
  events: Collection<EventDoc>;
}

export interface RecordDoc {
  _id: string;
  model: string;
  id: string;
  payload: string;
  /** Random per upsert, so a replaced record can be consumed again. */
  gen: string;
  grantId?: string;
  userCode?: string;
  uid?: string;
  expiresAt?: Date;
  consumed?: number;
  /** Payload fields set by `exchange` (one atomic `$set`), read over `payload`; an upsert drops them. */
  fields?: Record<string, unknown>;
  /** Count of exchanges, on servers where they go through claims (mongodb_exchange.ts). */
  xv?: number;
}

export interface ClaimDoc {
  _id: string;
  key: string;
  /** Epoch ms the claim was taken (exchange claims only). */
  at?: number;
  expiresAt?: Date;
}

export interface WindowDoc {
  _id: string;
  key: string;
  gen: number;
  resetAt: number;
  expiresAt: Date;
}

export interface EventDoc {
  _id?: unknown;
  window: string;
  /** Events this document counts. */
  n: number;
  expiresAt: Date;
}

export function collections(db: Db): Collections {
  return {
    records: db.collection<RecordDoc>('records'),
    claims: db.collection<ClaimDoc>('claims'),
    windows: db.collection<WindowDoc>('counter_windows'),
    events: db.collection<EventDoc>('counter_events'),
  };
}

/** What the server turned out to support. */
export interface IndexSupport {
  /** TTL indexes (MongoDB yes, FerretDB 1.x no: then the store sweeps on a timer). */
  ttl: boolean;
  /** Partial indexes (FerretDB 1.x no: its unique indexes already ignore missing fields). */
  partial: boolean;
}

async function tryIndex(c: Collection<never>, key: IndexSpecification, options: CreateIndexesOptions): Promise<boolean> {
  try {
    await c.createIndex(key, options);
    return true;
  } catch (err) {
    if (isNotImplemented(err)) return false;
    throw err;
  }
}

async function expiryIndex(c: Collection<never>, ttl: boolean): Promise<void> {
  await c.createIndex({ expiresAt: 1 }, ttl ? { name: 'expiry_ttl', expireAfterSeconds: 0 } : { name: 'expiry' });
}

/**
 * Creates every index (idempotent), probing the server for TTL and partial index support.
 * Unique indexes on user code and session uid are per model; partial where the server can, so
 * records without the field never collide on a real MongoDB.
 */
export async function ensureIndexes(c: Collections): Promise<IndexSupport> {
  const records = c.records as unknown as Collection<never>;
  const ttl = await tryIndex(records, { expiresAt: 1 }, { name: 'expiry_ttl', expireAfterSeconds: 0 });
  if (!ttl) await expiryIndex(records, false);
  const partialOf = (field: string): Document => ({ [field]: { $type: 'string' } });
  const partial = await tryIndex(records, { model: 1, userCode: 1 }, { name: 'user_code', unique: true, partialFilterExpression: partialOf('userCode') });
  if (!partial) await records.createIndex({ model: 1, userCode: 1 }, { name: 'user_code', unique: true });
  await records.createIndex({ model: 1, uid: 1 }, partial ? { name: 'uid', unique: true, partialFilterExpression: partialOf('uid') } : { name: 'uid', unique: true });
  await records.createIndex({ model: 1, id: 1 }, { name: 'model_id' });
  await records.createIndex({ grantId: 1 }, { name: 'grant' });

  const claims = c.claims as unknown as Collection<never>;
  await claims.createIndex({ key: 1 }, { name: 'key' });
  await expiryIndex(claims, ttl);

  const windows = c.windows as unknown as Collection<never>;
  await windows.createIndex({ key: 1, gen: -1 }, { name: 'key_gen' });
  await expiryIndex(windows, ttl);

  const events = c.events as unknown as Collection<never>;
  await events.createIndex({ window: 1 }, { name: 'window' });
  await expiryIndex(events, ttl);
  return { ttl, partial };
}
