import { MongoBulkWriteError, type AnyBulkWriteOperation } from 'mongodb';
import { isDuplicateKey } from './mongodb_errors.ts';
import { MAJORITY, type Collections, type RecordDoc } from './mongodb_indexes.ts';

/** A record write waiting for this turn's bulk write, and its caller's promise. */
interface QueuedRecordWrite {
  doc: RecordDoc;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/**
 * oidc-provider models whose records are written once, when they are created (tokens and codes:
 * a later change is a consume, a separate operation), so their upsert is tried as an insert first.
 * A write of one of them that finds its id taken still replaces it, only one round trip later.
 */
const CREATED_ONCE = new Set(['AccessToken', 'ClientCredentials', 'AuthorizationCode', 'RefreshToken', 'PushedAuthorizationRequest', 'ReplayDetection', 'RegistrationAccessToken']);

/**
 * MongoStore's batched record writes: each `write` (an insert of a new token or code, or a
 * replacing upsert) is queued for a bulk write at the end of this event-loop turn, so under load
 * the token writes of every request in flight share one round trip (an unordered `insertMany` of
 * new tokens, `bulkWrite` of `replaceOne` upserts for the rest, majority write concern) instead of
 * one each.
 */
export class RecordWrites {
  readonly #collections: () => Collections;
  #queued: QueuedRecordWrite[] = [];
  #inFlight = new Set<Promise<void>>();

  /** @param collections the store's collections as of each write (the store replaces its client after a failed first connection) */
  constructor(collections: () => Collections) {
    this.#collections = collections;
  }

  /**
   * Queues one record write. Settles when the server has acknowledged this document; a document
   * the server refuses (duplicate key) rejects only its own caller. Two writes of one `_id` go in
   * successive bulk writes, in order.
   * @throws (rejected) the driver's error: duplicate key for this document, or any failure that left the whole batch in doubt
   */
  write(doc: RecordDoc): Promise<void> {
    if (this.#queued.length === 0) setImmediate(() => this.flush());
    return new Promise((resolve, reject) => this.#queued.push({ doc, resolve, reject }));
  }

  /** Sends what is queued now (close calls it; otherwise the end of the turn does). */
  flush(): void {
    const queued = this.#queued;
    this.#queued = [];
    // A second write of an _id starts the next batch, which waits for this one: it lands last.
    let chain = Promise.resolve();
    while (queued.length > 0) {
      const seen = new Set<string>();
      let end = 0;
      while (end < queued.length && !seen.has(queued[end]!.doc._id)) seen.add(queued[end++]!.doc._id);
      const batch = queued.splice(0, end);
      chain = chain.then(() => this.#bulkWrite(batch));
    }
    const done = chain;
    this.#inFlight.add(done);
    void done.finally(() => this.#inFlight.delete(done));
  }

  /** Settles when every bulk write sent so far has (whatever its outcome). */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.#inFlight]);
  }

  async #bulkWrite(batch: QueuedRecordWrite[]): Promise<void> {
    const created = batch.filter((w) => CREATED_ONCE.has(w.doc.model));
    const others = created.length === 0 ? batch : batch.filter((w) => !CREATED_ONCE.has(w.doc.model));
    await Promise.all([created.length > 0 && this.#insertFirst(created), others.length > 0 && this.#replaceAll(others)]);
  }

  /**
   * Records of CREATED_ONCE models are new on their first write: one insert of them all (an insert
   * is several times cheaper than an upsert on FerretDB). Any refusal (an id already there, a
   * unique user code) sends each of them again as a replacement, which settles it: replacing a
   * document just inserted with itself changes nothing. A record deleted between the two (a grant
   * revoked in that moment) comes back, but its caller is still waiting for this write: the
   * outcome is that of a write which landed after the revocation, as any slow write can.
   */
  #insertFirst(batch: QueuedRecordWrite[]): Promise<void> {
    const records = this.#collections().records;
    return this.#settle(
      batch,
      () => (batch.length === 1 ? records.insertOne(batch[0]!.doc, MAJORITY) : records.insertMany(batch.map((w) => w.doc), { ordered: false, ...MAJORITY })),
      (err) => isDuplicateKey(err) || (err instanceof MongoBulkWriteError && !err.writeConcernError),
    );
  }

  #replaceAll(batch: QueuedRecordWrite[]): Promise<void> {
    if (batch.length === 1) return this.#replaceEach(batch);
    const ops: AnyBulkWriteOperation<RecordDoc>[] = batch.map(({ doc }) => ({ replaceOne: { filter: { _id: doc._id }, replacement: doc, upsert: true } }));
    return this.#settle(
      batch,
      () => this.#collections().records.bulkWrite(ops, { ordered: false, ...MAJORITY }),
      (err) => err instanceof MongoBulkWriteError && !err.writeConcernError,
    );
  }

  /**
   * Runs one write for the whole batch and settles every caller: all resolve when it succeeds; when
   * the server `refused` some documents (a unique user code or uid, an id already there), each
   * write is sent again alone and settles with its own outcome — which ones were refused is not
   * taken from the error, as FerretDB 1.24 reports the wrong index; any other failure (network,
   * timeout, write concern) leaves every write in doubt and rejects them all.
   */
  async #settle(batch: QueuedRecordWrite[], write: () => Promise<unknown>, refused: (err: unknown) => boolean): Promise<void> {
    try {
      await write();
    } catch (err) {
      if (refused(err)) await this.#replaceEach(batch);
      else for (const w of batch) w.reject(err);
      return;
    }
    for (const w of batch) w.resolve();
  }

  async #replaceEach(batch: QueuedRecordWrite[]): Promise<void> {
    const records = this.#collections().records;
    await Promise.all(batch.map(({ doc, resolve, reject }) => records.replaceOne({ _id: doc._id }, doc, { upsert: true, ...MAJORITY }).then(() => resolve(), reject)));
  }
}
