import type { Payload } from '../../shared/types.ts';
import { isDuplicateKey } from './mongodb_errors.ts';
import { live, MAJORITY, type Collections, type RecordDoc } from './mongodb_indexes.ts';

const MAX_ATTEMPTS = 40;

/** `$set` of the exchanged fields into the record's `fields` subdocument. */
function setOf(fields: Payload): Record<string, unknown> {
  const set: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(fields)) set[`fields.${name}`] = value;
  return set;
}

/**
 * `Store.exchange` where the server applies a conditional update atomically (MongoDB): one
 * `findOneAndUpdate` returning the record as it was.
 */
export async function exchangeAtomic(c: Collections, id: string, fields: Payload): Promise<RecordDoc | null> {
  return c.records.findOneAndUpdate({ _id: id, ...live(Date.now()) }, { $set: setOf(fields) }, { returnDocument: 'before', ...MAJORITY });
}

/**
 * `Store.exchange` on FerretDB 1.x, whose `findOneAndUpdate` is a read then a write (concurrent
 * calls return the same previous state and lose updates). The record carries a version `xv`;
 * whoever inserts the claim `<id>#<gen>@<xv>` (unique `_id`, atomic there) may write version
 * `xv + 1`, the others read again. Three round trips instead of one; claims expire with the
 * record. A claim whose holder never wrote (crashed, timed out) is passed over after `staleMs`.
 */
export async function exchangeByClaims(c: Collections, id: string, fields: Payload, staleMs: number): Promise<RecordDoc | null> {
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt += 1) {
    const rec = await c.records.findOne({ _id: id, ...live(Date.now()) });
    if (!rec) return null;
    let version = rec.xv ?? 0;
    for (;;) {
      const claim = { _id: `${id}#${rec.gen}@${version}`, key: id, at: Date.now(), ...(rec.expiresAt ? { expiresAt: rec.expiresAt } : {}) };
      try {
        await c.claims.insertOne(claim, MAJORITY);
      } catch (err) {
        if (!isDuplicateKey(err)) throw err;
        const held = await c.claims.findOne({ _id: claim._id });
        if (held && typeof held.at === 'number' && Date.now() - held.at > staleMs) {
          version += 1; // its holder never wrote: everyone passes over it alike
          continue;
        }
        break; // someone else is writing this version: read again
      }
      // Only over the version read: a holder passed over as stale that writes after all matches nothing.
      const { matchedCount } = await c.records.updateOne({ _id: id, gen: rec.gen, ...(rec.xv === undefined ? { xv: { $exists: false } } : { xv: rec.xv }) }, { $set: { ...setOf(fields), xv: version + 1 } }, MAJORITY);
      if (matchedCount === 1) return rec;
      break; // replaced or moved on meanwhile: read again
    }
    // Those racing us are done within a round trip or two; spread the retries out a little.
    await new Promise((r) => setTimeout(r, 1 + Math.floor(Math.random() * Math.min(20, 2 * (attempt + 1)))));
  }
  throw new Error(`exchange of ${id} kept losing to concurrent writers`);
}
