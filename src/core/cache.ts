import type { StoredSession } from "../stores/types.js";
import { cloneJson } from "../util/json.js";

/**
 * A bounded in-process cache of session records read from a shared store, so that most
 * requests of the `id` strategy need no store round trip.
 *
 * It only ever answers "here is the record as of at most `maxAge` ago"; a miss, an entry past
 * its age or past the session's expiry goes to the store. Revocations announced on the
 * store's change feed drop entries at once (in this process immediately, from other
 * processes as fast as the feed carries them), and `maxAge` bounds what a lost feed message
 * could cost. Writes made through this process update their entry.
 *
 * Only records the store returned are cached, aged from the start of the request that read
 * them. A read under way when any entry was dropped is not cached: its reply may predate the
 * revocation that the drop announced.
 */
export class RecordCache {
  readonly #entries = new Map<string, { record: StoredSession; fetchedAt: number }>();
  readonly #max: number;
  readonly #maxAge: number;
  #drops = 0;

  constructor(options: { max: number; maxAge: number }) {
    this.#max = options.max;
    this.#maxAge = options.maxAge;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** A copy of the record if it was read less than `maxAge` ago and is still live at `now`. */
  get(id: string, now: number): StoredSession | undefined {
    const entry = this.#entries.get(id);
    if (!entry) return undefined;
    if (now - entry.fetchedAt >= this.#maxAge || entry.record.expiresAt <= now) {
      this.#entries.delete(id);
      return undefined;
    }
    return { ...entry.record, data: cloneJson(entry.record.data) };
  }

  /** Taken before a store read; `set` with it caches nothing if an entry was dropped since. */
  mark(): number {
    return this.#drops;
  }

  set(record: StoredSession, fetchedAt: number, mark = this.#drops): void {
    if (mark !== this.#drops) return;
    this.#entries.delete(record.id); // re-insert: Map order is the LRU order
    this.#entries.set(record.id, {
      record: { ...record, data: cloneJson(record.data) },
      fetchedAt,
    });
    if (this.#entries.size > this.#max) {
      const oldest = this.#entries.keys().next().value;
      if (oldest !== undefined) this.#entries.delete(oldest);
    }
  }

  /** Applies a touch made by this process without refreshing the entry's age. */
  touched(id: string, lastActiveAt: number, expiresAt: number): void {
    const entry = this.#entries.get(id);
    if (entry) entry.record = { ...entry.record, lastActiveAt, expiresAt };
  }

  /** Drops an entry the store no longer holds as cached (a revocation, a write, a miss). */
  delete(id: string): void {
    this.#drops++;
    this.#entries.delete(id);
  }
}
