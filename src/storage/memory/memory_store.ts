import type { Payload } from '../../shared/types.ts';
import { exchangeableFields, expiresAt, indexFields, PURGE_INTERVAL_MS, type Store } from '../adapter.ts';

interface Row {
  payload: Payload;
  expiresAt?: number;
  consumed?: number;
}

/**
 * In-process store for tests and throwaway runs. Unlike oidc-provider's MemoryAdapter it never
 * evicts live records; it only forgets expired ones.
 */
export class MemoryStore implements Store {
  readonly kind = 'memory';
  #models = new Map<string, Map<string, Row>>();
  #counters = new Map<string, { count: number; resetAt: number }>();
  #timer: NodeJS.Timeout;

  constructor() {
    this.#timer = setInterval(() => void this.purgeExpired(), PURGE_INTERVAL_MS).unref();
  }

  #table(model: string): Map<string, Row> {
    let t = this.#models.get(model);
    if (!t) {
      t = new Map();
      this.#models.set(model, t);
    }
    return t;
  }

  #live(model: string, id: string): Row | undefined {
    const row = this.#models.get(model)?.get(id);
    if (!row) return undefined;
    if (row.expiresAt !== undefined && row.expiresAt <= Date.now()) {
      this.#models.get(model)?.delete(id);
      return undefined;
    }
    return row;
  }

  static #out(row: Row): Payload {
    const copy = structuredClone(row.payload);
    if (row.consumed !== undefined) copy.consumed = row.consumed;
    return copy;
  }

  async upsert(model: string, id: string, payload: Payload, expiresIn?: number): Promise<void> {
    this.#table(model).set(id, { payload: structuredClone(payload), expiresAt: expiresAt(expiresIn) });
  }

  async insert(model: string, id: string, payload: Payload, expiresIn?: number): Promise<boolean> {
    if (this.#live(model, id)) return false;
    await this.upsert(model, id, payload, expiresIn);
    return true;
  }

  async find(model: string, id: string): Promise<Payload | undefined> {
    const row = this.#live(model, id);
    return row ? MemoryStore.#out(row) : undefined;
  }

  async findInModels(models: readonly string[], id: string): Promise<Map<string, Payload>> {
    const found = new Map<string, Payload>();
    for (const model of models) {
      const row = this.#live(model, id);
      if (row) found.set(model, MemoryStore.#out(row));
    }
    return found;
  }

  #findBy(model: string, field: 'userCode' | 'uid', value: string): Payload | undefined {
    for (const id of this.#models.get(model)?.keys() ?? []) {
      const row = this.#live(model, id);
      if (row && indexFields(row.payload)[field] === value) return MemoryStore.#out(row);
    }
    return undefined;
  }

  async findByUserCode(model: string, userCode: string): Promise<Payload | undefined> {
    return this.#findBy(model, 'userCode', userCode);
  }

  async findByUid(model: string, uid: string): Promise<Payload | undefined> {
    return this.#findBy(model, 'uid', uid);
  }

  async exchange(model: string, id: string, fields: Payload): Promise<Payload | undefined> {
    exchangeableFields(fields);
    const row = this.#live(model, id);
    if (!row) return undefined;
    const before = MemoryStore.#out(row);
    row.payload = { ...row.payload, ...structuredClone(fields) };
    return before;
  }

  async consume(model: string, id: string): Promise<boolean> {
    const row = this.#live(model, id);
    if (!row || row.consumed !== undefined) return false;
    row.consumed = Math.floor(Date.now() / 1000);
    return true;
  }

  async destroy(model: string, id: string): Promise<void> {
    this.#models.get(model)?.delete(id);
  }

  async revokeByGrantId(grantId: string): Promise<void> {
    for (const table of this.#models.values()) {
      for (const [id, row] of table) {
        if (indexFields(row.payload).grantId === grantId) table.delete(id);
      }
    }
  }

  async list(model: string, options: { limit?: number } = {}): Promise<Array<{ id: string; payload: Payload }>> {
    const ids = [...(this.#models.get(model)?.keys() ?? [])].sort();
    const out: Array<{ id: string; payload: Payload }> = [];
    for (const id of ids) {
      const row = this.#live(model, id);
      if (row) out.push({ id, payload: MemoryStore.#out(row) });
      if (options.limit !== undefined && out.length >= options.limit) break;
    }
    return out;
  }

  async increment(key: string, windowSeconds: number, by = 1): Promise<{ count: number; resetAt: number }> {
    const now = Date.now();
    const current = this.#counters.get(key);
    const next = current && current.resetAt > now && current.resetAt <= now + windowSeconds * 1000 ? { count: current.count + by, resetAt: current.resetAt } : { count: by, resetAt: now + windowSeconds * 1000 };
    this.#counters.set(key, next);
    return { ...next };
  }

  async ping(): Promise<void> {}

  async purgeExpired(): Promise<number> {
    const now = Date.now();
    let n = 0;
    for (const table of this.#models.values()) {
      for (const [id, row] of table) {
        if (row.expiresAt !== undefined && row.expiresAt <= now) {
          table.delete(id);
          n += 1;
        }
      }
    }
    for (const [key, c] of this.#counters) if (c.resetAt <= now) this.#counters.delete(key);
    return n;
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
  }
}
