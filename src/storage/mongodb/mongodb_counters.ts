import { isDuplicateKey } from './mongodb_errors.ts';
import type { Collections, WindowDoc } from './mongodb_indexes.ts';

const MAX_ATTEMPTS = 10;

/**
 * Fixed-window counter built from inserts only, so it is exact under concurrency on servers whose
 * `$inc` is a read-then-write (FerretDB 1.x loses increments under load):
 * - the window is a document with a deterministic `_id` (`key#generation`); of concurrent callers
 *   opening the next window exactly one insert succeeds and the others join it;
 * - every increment is its own document carrying `n` events, and the count is their sum.
 * Windows and events carry `expiresAt`, so TTL indexes (or the sweeper) remove them.
 */
export async function increment(c: Collections, key: string, windowSeconds: number, by = 1): Promise<{ count: number; resetAt: number }> {
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt += 1) {
    const now = Date.now();
    let window: WindowDoc | null = await c.windows.find({ key }).sort({ gen: -1 }).limit(1).next();
    // Over, or ending later than a window started now could (a clock set back): the next one.
    if (!window || window.resetAt <= now || window.resetAt > now + windowSeconds * 1000) {
      const gen = window ? window.gen + 1 : 0;
      const resetAt = now + windowSeconds * 1000;
      const next: WindowDoc = { _id: `${key}#${gen}`, key, gen, resetAt, expiresAt: new Date(resetAt) };
      try {
        await c.windows.insertOne(next);
        window = next;
      } catch (err) {
        if (isDuplicateKey(err)) continue; // another caller opened it: read it and join
        throw err;
      }
    }
    // The window's reset time is part of the event key, so events of a swept window that
    // reused the same generation are never counted in a new one.
    const tag = `${window._id}@${window.resetAt}`;
    await c.events.insertOne({ window: tag, expiresAt: window.expiresAt, n: by });
    const [sum] = await c.events.aggregate<{ count: number }>([{ $match: { window: tag } }, { $group: { _id: null, count: { $sum: '$n' } } }]).toArray();
    const count = sum?.count ?? 0;
    return { count, resetAt: window.resetAt };
  }
  throw new Error(`rate-limit window for ${key} kept changing under concurrent writers`);
}
