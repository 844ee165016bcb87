import { randomBytes } from 'node:crypto';
import { MongoClient, type MongoClientOptions } from 'mongodb';
import { AlreadyExistsError, GatehouseError, StoreUnavailableError } from '../../shared/errors.ts';
import type { Logger } from '../../shared/logger.ts';
import type { Payload } from '../../shared/types.ts';
import { exchangeableFields, expiresAt, indexFields, PURGE_INTERVAL_MS, type Store } from '../adapter.ts';
import { classify, explain, isDuplicateKey, unavailable } from './mongodb_errors.ts';
import { collections, ensureIndexes, live, MAJORITY, type Collections, type IndexSupport, type RecordDoc } from './mongodb_indexes.ts';
import { RecordWrites } from './mongodb_record_writes.ts';
import { increment } from './mongodb_counters.ts';
import { exchangeAtomic, exchangeByClaims } from './mongodb_exchange.ts';

export interface MongoStoreOptions {
  uri: string;
  /** Server selection and connect timeout in ms; socket timeout is three times this. */
  timeoutMs?: number;
  logger?: Pick<Logger, 'info' | 'warn' | 'error'>;
}

/** The database named in the URI path, or `gatehouse` when the URI names none. */
export function databaseName(uri: string): string {
  const m = /^mongodb(?:\+srv)?:\/\/[^/?]*\/([^?]+)/.exec(uri);
  return m?.[1] ? decodeURIComponent(m[1]) : 'gatehouse';
}

const key = (model: string, id: string) => `${model}:${id}`;

/**
 * Production store on MongoDB (replica set) through the official driver; also runs on FerretDB 1.x.
 *
 * Payloads are stored as JSON text so they round-trip exactly (BSON would turn `undefined` into
 * null and refuses some key names); the fields oidc-provider looks records up by are copied next
 * to it and indexed. Single-winner operations rely only on unique-key inserts, which are atomic on
 * MongoDB and on FerretDB (whose conditional updates are read-then-write and race).
 */
export class MongoStore implements Store {
  readonly coalesceReads = true;
  readonly kind = 'mongodb';
  #uri: string;
  #options: MongoClientOptions;
  #client: MongoClient;
  #c: Collections;
  #logger: MongoStoreOptions['logger'];
  #ready: Promise<IndexSupport> | undefined;
  #support: IndexSupport | undefined;
  #sweeper: NodeJS.Timeout | undefined;
  #down = false;
  /** False on FerretDB (its conditional updates are a read then a write): see `exchange`. */
  #atomicUpdates = true;
  #closed = false;
  #timeoutMs: number;
  /** Token and code writes, sent in one bulk write per event-loop turn. */
  #recordWrites = new RecordWrites(() => this.#c);
  /** Operations started and not yet settled (each bounded by the timeout). */
  #operations = new Set<Promise<void>>();

  /** @throws MongoParseError for a malformed URI (no connection is attempted here). */
  constructor(options: MongoStoreOptions) {
    const timeout = options.timeoutMs ?? 5000;
    this.#uri = options.uri;
    this.#timeoutMs = timeout;
    this.#options = {
      serverSelectionTimeoutMS: timeout,
      connectTimeoutMS: timeout,
      socketTimeoutMS: timeout * 3,
      heartbeatFrequencyMS: Math.max(1000, Math.min(10_000, timeout)),
      appName: 'gatehouse',
    };
    this.#logger = options.logger;
    [this.#client, this.#c] = this.#newClient();
  }

  #newClient(): [MongoClient, Collections] {
    const client = new MongoClient(this.#uri, this.#options);
    return [client, collections(client.db(databaseName(this.#uri)))];
  }

  /**
   * A client whose first connection failed stays closed for good (the driver closes its
   * topology), so the next attempt needs a fresh one. After a first success the driver's own
   * monitoring reconnects through outages.
   */
  #replaceClient(): void {
    const old = this.#client;
    [this.#client, this.#c] = this.#newClient();
    void old.close().catch(() => {});
  }

  /** Index support the server showed (undefined until the first successful connection). */
  get support(): IndexSupport | undefined {
    return this.#support;
  }

  /**
   * Connects and creates indexes once. Resolves false (after logging why) when the database
   * cannot be used yet; every later operation tries again, so service resumes on its own.
   */
  async start(): Promise<boolean> {
    try {
      await this.#run(async () => undefined);
      return true;
    } catch {
      return false;
    }
  }

  #ensure(): Promise<IndexSupport> {
    this.#ready ??= this.#connectAndIndex().catch((err: unknown) => {
      this.#ready = undefined;
      throw err;
    });
    return this.#ready;
  }

  async #connectAndIndex(): Promise<IndexSupport> {
    try {
      await this.#client.connect();
    } catch (err) {
      if (!this.#closed) this.#replaceClient();
      throw err;
    }
    const support = await ensureIndexes(this.#c);
    this.#support = support;
    const build = await this.#client.db('admin').command({ buildInfo: 1 });
    this.#atomicUpdates = !('ferretdbVersion' in build);
    if (!support.ttl && !this.#sweeper && !this.#closed) {
      this.#logger?.info({ event: 'store_sweeper', store: 'mongodb' }, 'MongoDB server has no TTL indexes: expired records are swept every minute');
      this.#sweeper = setInterval(() => void this.purgeExpired().catch(() => {}), PURGE_INTERVAL_MS).unref();
    }
    return support;
  }

  /**
   * Rejects with a timeout when `work` has not settled within the timeout. A server that stopped
   * answering (paused, partitioned) leaves the driver waiting on an open socket for up to the socket
   * timeout per attempt; a request must not wait that long. The operation itself goes on and its
   * outcome is ignored.
   */
  async #bounded<T>(work: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(Object.assign(new Error(`no answer within ${this.#timeoutMs} ms`), { name: 'MongoOperationTimeoutError' })), this.#timeoutMs);
    });
    work.catch(() => {}); // settles after the timeout: nobody is waiting for it any more
    try {
      return await Promise.race([work, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Runs one store operation within the timeout (`GATEHOUSE_MONGODB_TIMEOUT`): indexes first,
   * driver failures and timeouts become StoreUnavailableError.
   */
  async #run<T>(fn: () => Promise<T>): Promise<T> {
    // The driver would quietly reconnect a closed client; a closed store stays closed.
    if (this.#closed) throw new StoreUnavailableError('mongodb: the store is closed');
    const operation = this.#bounded(this.#ensure().then(fn));
    // close() lets operations already started finish before it closes the connection.
    const settled = operation.then(() => {}, () => {});
    this.#operations.add(settled);
    void settled.then(() => this.#operations.delete(settled));
    try {
      const result = await operation;
      if (this.#down) {
        this.#down = false;
        this.#logger?.info({ event: 'store_recovered', store: 'mongodb' }, 'MongoDB is reachable again');
      }
      return result;
    } catch (err) {
      if (err instanceof GatehouseError) throw err;
      if ((err as Error)?.name === 'MongoTopologyClosedError' && !this.#closed) {
        this.#ready = undefined;
        this.#replaceClient();
      }
      const problem = classify(err);
      if (!this.#down && !this.#closed) {
        this.#down = true;
        this.#logger?.error({ event: 'store_unavailable', store: 'mongodb', problem, reason: (err as Error).message }, `store unavailable: ${explain(problem)}`);
      }
      throw unavailable(err);
    }
  }

  #doc(model: string, id: string, payload: Payload, expiresIn?: number): RecordDoc {
    const { grantId, userCode, uid } = indexFields(payload);
    const at = expiresAt(expiresIn);
    const doc: RecordDoc = { _id: key(model, id), model, id, payload: JSON.stringify(payload), gen: randomBytes(9).toString('base64url') };
    if (grantId !== undefined) doc.grantId = grantId;
    if (userCode !== undefined) doc.userCode = userCode;
    if (uid !== undefined) doc.uid = uid;
    if (at !== undefined) doc.expiresAt = new Date(at);
    return doc;
  }

  static #out(doc: RecordDoc | null): Payload | undefined {
    if (!doc) return undefined;
    const payload = JSON.parse(doc.payload) as Payload;
    if (doc.fields) Object.assign(payload, doc.fields);
    if (typeof doc.consumed === 'number') payload.consumed = doc.consumed;
    return payload;
  }

  /** Removes expired records still holding the id, user code or uid a write needs (cleanup may lag). */
  async #clearExpired(doc: RecordDoc): Promise<void> {
    const expired = { expiresAt: { $lte: new Date() } };
    await this.#c.records.deleteMany({ _id: doc._id, ...expired });
    if (doc.userCode !== undefined) await this.#c.records.deleteMany({ model: doc.model, userCode: doc.userCode, ...expired });
    if (doc.uid !== undefined) await this.#c.records.deleteMany({ model: doc.model, uid: doc.uid, ...expired });
  }

  async upsert(model: string, id: string, payload: Payload, expiresIn?: number): Promise<void> {
    const doc = this.#doc(model, id, payload, expiresIn);
    await this.#run(async () => {
      for (let attempt = 0; ; attempt += 1) {
        try {
          if (attempt === 0) await this.#recordWrites.write(doc);
          else await this.#c.records.replaceOne({ _id: doc._id }, doc, { upsert: true, ...MAJORITY });
          return;
        } catch (err) {
          // Two upserts of a new id race to insert, or a stale record holds the user code/uid.
          if (!isDuplicateKey(err)) throw err;
          if (attempt >= 3) throw new AlreadyExistsError(`${model} with that user code or uid`);
          await this.#clearExpired(doc);
        }
      }
    });
  }

  async insert(model: string, id: string, payload: Payload, expiresIn?: number): Promise<boolean> {
    const doc = this.#doc(model, id, payload, expiresIn);
    return this.#run(async () => {
      for (let attempt = 0; attempt < 2; attempt += 1) {
        try {
          await this.#c.records.insertOne(doc, MAJORITY);
          return true;
        } catch (err) {
          if (!isDuplicateKey(err)) throw err;
          await this.#clearExpired(doc);
        }
      }
      return false;
    });
  }

  async find(model: string, id: string): Promise<Payload | undefined> {
    return this.#run(async () => MongoStore.#out(await this.#c.records.findOne({ _id: key(model, id), ...live(Date.now()) })));
  }

  async findInModels(models: readonly string[], id: string): Promise<Map<string, Payload>> {
    return this.#run(async () => {
      const docs = await this.#c.records.find({ _id: { $in: models.map((m) => key(m, id)) }, ...live(Date.now()) }).toArray();
      return new Map(docs.map((d) => [d.model, MongoStore.#out(d)!]));
    });
  }

  async findByUserCode(model: string, userCode: string): Promise<Payload | undefined> {
    return this.#run(async () => MongoStore.#out(await this.#c.records.findOne({ model, userCode, ...live(Date.now()) })));
  }

  async findByUid(model: string, uid: string): Promise<Payload | undefined> {
    return this.#run(async () => MongoStore.#out(await this.#c.records.findOne({ model, uid, ...live(Date.now()) })));
  }

  /**
   * The payload stays JSON text; the exchanged fields go in a `fields` subdocument that reads lay
   * over it. On MongoDB one `findOneAndUpdate`; on FerretDB, whose conditional updates race, a
   * claim per version (mongodb_exchange.ts).
   */
  async exchange(model: string, id: string, fields: Payload): Promise<Payload | undefined> {
    exchangeableFields(fields);
    return this.#run(async () => {
      const before = this.#atomicUpdates ? await exchangeAtomic(this.#c, key(model, id), fields) : await exchangeByClaims(this.#c, key(model, id), fields, this.#timeoutMs * 4);
      return MongoStore.#out(before);
    });
  }

  /**
   * The winner is whoever inserts the claim for this generation of the record (unique `_id`);
   * the mark on the record then lets `find` report `consumed` in one read.
   */
  async consume(model: string, id: string): Promise<boolean> {
    return this.#run(async () => {
      const now = Date.now();
      const rec = await this.#c.records.findOne({ _id: key(model, id), ...live(now) }, { projection: { gen: 1, expiresAt: 1, consumed: 1 } });
      if (!rec || typeof rec.consumed === 'number') return false;
      const claim = { _id: `${rec._id}#${rec.gen}`, key: rec._id, ...(rec.expiresAt ? { expiresAt: rec.expiresAt } : {}) };
      try {
        await this.#c.claims.insertOne(claim, MAJORITY);
      } catch (err) {
        if (isDuplicateKey(err)) return false;
        throw err;
      }
      // The claim alone decides the winner. A concurrent loser may already have revoked the grant
      // (adapter_bridge.ts) and deleted the record: then there is nothing left to mark, and the
      // tokens this winner writes belong to a revoked grant — still exactly one winner.
      await this.#c.records.updateOne({ _id: rec._id, gen: rec.gen }, { $set: { consumed: Math.floor(now / 1000) } }, MAJORITY);
      return true;
    });
  }

  async destroy(model: string, id: string): Promise<void> {
    await this.#run(async () => {
      await this.#c.records.deleteOne({ _id: key(model, id) }, MAJORITY);
      await this.#c.claims.deleteMany({ key: key(model, id) });
    });
  }

  /**
   * Deletes every record of the grant. Their claims stay until they expire with the record: a
   * claim is what makes a redemption racing this revocation lose (see `consume`).
   */
  async revokeByGrantId(grantId: string): Promise<void> {
    await this.#run(async () => {
      await this.#c.records.deleteMany({ grantId }, MAJORITY);
    });
  }

  async list(model: string, options: { limit?: number } = {}): Promise<Array<{ id: string; payload: Payload }>> {
    return this.#run(async () => {
      const cursor = this.#c.records.find({ model, ...live(Date.now()) }).sort({ id: 1 });
      if (options.limit !== undefined) cursor.limit(options.limit);
      const docs = await cursor.toArray();
      return docs.map((d) => ({ id: d.id, payload: MongoStore.#out(d)! }));
    });
  }

  async increment(counterKey: string, windowSeconds: number, by = 1): Promise<{ count: number; resetAt: number }> {
    return this.#run(() => increment(this.#c, counterKey, windowSeconds, by));
  }

  async ping(): Promise<void> {
    const id = `ping-${process.pid}-${randomBytes(4).toString('hex')}`;
    await this.upsert('_health', id, { at: Date.now() }, 60);
    await this.destroy('_health', id);
  }

  async purgeExpired(): Promise<number> {
    return this.#run(async () => {
      const expired = { expiresAt: { $lte: new Date() } };
      const { deletedCount } = await this.#c.records.deleteMany(expired);
      await this.#c.claims.deleteMany(expired);
      await this.#c.events.deleteMany(expired);
      await this.#c.windows.deleteMany(expired);
      return deletedCount;
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#sweeper);
    // Operations already started (and their queued writes) finish first, each within the timeout.
    await Promise.allSettled([...this.#operations]);
    this.#recordWrites.flush();
    // Writes still in flight get one more timeout at most: a stalled server does not hold close().
    await this.#bounded(this.#recordWrites.settled()).catch(() => {});
    await this.#client.close();
  }
}
