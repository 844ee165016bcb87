import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { StoreUnavailableError } from '../../shared/errors.ts';

/**
 * Runs SQLite work, any error it throws turned into StoreUnavailableError (`sqlite: <message>`,
 * the SQLite error as its cause).
 */
export function runStatement<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw new StoreUnavailableError(`sqlite: ${(err as Error).message}`, err);
  }
}

/** One queued write: the statement's work, and the caller's promise to settle after the commit. */
interface QueuedWrite {
  work: () => unknown;
  /** Several statements that must commit together even when the write is alone in its turn. */
  transaction: boolean;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

/** Writes committed together at most (a larger queue commits in several transactions). */
export const MAX_WRITES_PER_COMMIT = 256;

/**
 * SqliteStore's group commit: writes are queued and committed together in one transaction at the
 * end of the event-loop turn (`setImmediate`), and each caller's promise settles only after that
 * commit, so a resolved write is as durable as one committed alone. Under load this turns twenty
 * token writes into one commit instead of twenty (a commit and its WAL frames cost more than the
 * row). A statement that fails rejects only its own caller; a commit that fails (disk full,
 * another process holding the lock past `busy_timeout`) rolls the batch back and rejects every
 * caller in it with StoreUnavailableError. A `transaction` write alone in its turn still runs
 * inside `BEGIN IMMEDIATE`, which holds the file's write lock from the start.
 */
export class GroupCommit {
  readonly #db: DatabaseSync;
  readonly #begin: StatementSync;
  readonly #commit: StatementSync;
  readonly #rollback: StatementSync;
  #queue: QueuedWrite[] = [];

  constructor(db: DatabaseSync) {
    this.#db = db;
    this.#begin = db.prepare('BEGIN IMMEDIATE');
    this.#commit = db.prepare('COMMIT');
    this.#rollback = db.prepare('ROLLBACK');
  }

  /** Whether writes wait for the next commit. */
  get pending(): boolean {
    return this.#queue.length > 0;
  }

  /**
   * Queues one write for the next group commit.
   * @param work the statements (run synchronously inside the commit's transaction); its value settles the promise
   * @param transaction true: run inside a transaction even when alone in its turn
   * @returns `work`'s value, once committed
   * @throws StoreUnavailableError (rejected) when the database is closed or the commit fails, and
   *   (wrapping the SQLite error) when only this write's statements failed
   */
  write<T>(work: () => T, transaction = false): Promise<T> {
    if (!this.#db.isOpen) return Promise.reject(new StoreUnavailableError('sqlite: the store is closed'));
    if (this.#queue.length === 0) setImmediate(this.flush);
    return new Promise<T>((resolve, reject) => this.#queue.push({ work, transaction, resolve: resolve as (v: unknown) => void, reject }));
  }

  /** Commits every queued write now (before a read, at close, and at the end of the turn). */
  flush = (): void => {
    while (this.#queue.length > 0) {
      const batch = this.#queue.length <= MAX_WRITES_PER_COMMIT ? this.#queue : this.#queue.slice(0, MAX_WRITES_PER_COMMIT);
      this.#queue = batch === this.#queue ? [] : this.#queue.slice(MAX_WRITES_PER_COMMIT);
      this.#commitBatch(batch);
    }
  };

  #commitBatch(batch: QueuedWrite[]): void {
    if (batch.length === 1 && !batch[0]!.transaction) {
      const only = batch[0]!;
      try {
        only.resolve(runStatement(only.work));
      } catch (err) {
        only.reject(err);
      }
      return;
    }
    const outcomes: Array<{ ok: true; value: unknown } | { ok: false; err: unknown }> = [];
    try {
      runStatement(() => this.#begin.run());
      for (const write of batch) {
        try {
          outcomes.push({ ok: true, value: runStatement(write.work) });
        } catch (err) {
          // A constraint error undoes this statement only; a full disk or an I/O error ends the
          // whole transaction, and then nothing more may run outside it: the batch fails.
          if (!this.#db.isTransaction) throw err;
          outcomes.push({ ok: false, err });
        }
      }
      runStatement(() => this.#commit.run());
    } catch (err) {
      try {
        if (this.#db.isTransaction) this.#rollback.run();
      } catch {
        // the connection is unusable: every caller of the batch is told below all the same
      }
      for (const write of batch) write.reject(err);
      return;
    }
    batch.forEach((write, i) => {
      const outcome = outcomes[i]!;
      if (outcome.ok) write.resolve(outcome.value);
      else write.reject(outcome.err);
    });
  }
}
