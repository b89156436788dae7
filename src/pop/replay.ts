import { configError } from "../errors.js";

/**
 * Remembers one-time values (DPoP `jti`s, DBSC challenges) until they expire. Implementations
 * shared between instances (a store) make replay refusal hold across a cluster; the memory
 * one below holds per process.
 */
export interface ReplayCache {
  /**
   * True exactly when `key` can be proven not to have been used before and is now remembered
   * until `expiresAt` (epoch ms, inclusive). False when it was seen and is still live, and
   * also when it cannot be remembered (a full cache): never "true" for a value that might be a
   * replay. A `key` whose `expiresAt` is already past needs no memory and is answered true:
   * the caller refuses such a proof by its age anyway.
   */
  firstUse(key: string, expiresAt: number, now: number): boolean;
}

export interface MemoryReplayCache extends ReplayCache {
  /** Entries held now, live or not yet swept. */
  readonly size: number;
}

/** Keys longer than this are refused: the caller bounds them (a `jti` of 256 at most). */
const MAX_KEY_LENGTH = 512;

/**
 * A bounded in-memory replay cache, O(1) amortised per call.
 *
 * When it is full of live entries it refuses new ones (`firstUse` answers false) rather than
 * forgetting a live one: forgetting would let that value be replayed, silently, which is the
 * one thing this cache exists to prevent, whereas refusing fails visibly (a client retries
 * with a new proof) and only while a flood lasts. Size `max` for the traffic of one window.
 *
 * Entries leave in two ways. Each call drops the oldest entries while they have expired (two
 * at most), from a queue in insertion order: with one window for every entry that is expiry
 * order, and the cache stays at its live count. With mixed lifetimes an early entry can hold
 * later ones behind it, so a full cache sweeps everything; when a sweep leaves it more than
 * three quarters full, the next one waits until enough entries will have expired to bring it
 * back to three quarters, so each O(n) sweep is paid for by n/4 insertions. The cache thus
 * refuses a new value only while more than three quarters of `max` are live.
 */
export function memoryReplayCache(options: { max?: number } = {}): MemoryReplayCache {
  const max = options.max ?? 100_000;
  if (!Number.isSafeInteger(max) || max < 1) {
    throw configError(`replay cache: max must be a positive integer, not ${max}`);
  }
  const entries = new Map<string, number>();
  // Insertion order, as [key, expiresAt]; an item whose entry was since removed or replaced is
  // stale and skipped. (A queue of our own: reading a Map's oldest entry can cost a walk over
  // the slots its deletions left.)
  let queue: [string, number][] = [];
  let head = 0;
  const lowWater = Math.floor((max * 3) / 4);
  // No sweep is worth making while `now` is at or before this.
  let sweepAfter = Number.NEGATIVE_INFINITY;

  function dropExpiredOldest(now: number): void {
    let dropped = 0;
    while (head < queue.length && dropped < 2) {
      const [key, expiresAt] = queue[head] ?? ["", 0];
      if (entries.get(key) === expiresAt) {
        if (expiresAt >= now) break;
        entries.delete(key);
        dropped++;
      }
      head++;
    }
    if (head > 64 && head * 2 > queue.length) {
      queue = queue.slice(head);
      head = 0;
    }
  }

  function sweep(now: number): void {
    const live: number[] = [];
    for (const [key, expiresAt] of entries) {
      if (expiresAt < now) entries.delete(key);
      else live.push(expiresAt);
    }
    queue = Array.from(entries);
    head = 0;
    const excess = live.length - lowWater;
    sweepAfter = excess > 0 ? nthSmallest(live, excess - 1) : Number.NEGATIVE_INFINITY;
  }

  return {
    get size() {
      return entries.size;
    },
    firstUse(key, expiresAt, now) {
      if (typeof key !== "string" || key.length > MAX_KEY_LENGTH) return false;
      if (!Number.isFinite(expiresAt) || !Number.isFinite(now)) return false;
      dropExpiredOldest(now);
      const seen = entries.get(key);
      if (seen !== undefined && seen >= now) return false;
      if (expiresAt < now) return true;
      if (seen !== undefined) entries.delete(key); // expired: its queue item is now stale
      if (entries.size >= max) {
        if (now <= sweepAfter) return false;
        sweep(now);
        if (entries.size >= max) return false;
      }
      entries.set(key, expiresAt);
      queue.push([key, expiresAt]);
      // Stale items (values reused after expiry) must not grow the queue without bound.
      if (queue.length - head > 2 * max + 64) {
        queue = Array.from(entries);
        head = 0;
      }
      return true;
    },
  };
}

/** The k-th smallest (0-based) of `values`, reordering them: quickselect, expected O(n). */
function nthSmallest(values: number[], k: number): number {
  let low = 0;
  let high = values.length - 1;
  while (low < high) {
    // A random pivot: an adversary choosing expiries cannot force the quadratic case.
    const pivot = values[low + Math.floor(Math.random() * (high - low + 1))] ?? 0;
    let i = low;
    let j = high;
    while (i <= j) {
      while ((values[i] ?? 0) < pivot) i++;
      while ((values[j] ?? 0) > pivot) j--;
      if (i <= j) {
        const swap = values[i] ?? 0;
        values[i] = values[j] ?? 0;
        values[j] = swap;
        i++;
        j--;
      }
    }
    if (k <= j) high = j;
    else if (k >= i) low = i;
    else return values[k] ?? 0;
  }
  return values[k] ?? 0;
}

/**
 * A replay cache shared fairly between keys: each key (the part of the entry's name before
 * its first `:`, the proof key's thumbprint for DPoP) may record at most `perKey` entries per
 * `windowMs`; past that only that key's proofs are refused. Without it, one client sending
 * proofs fast enough could fill a bounded cache and lock every other client out.
 */
export function perKeyReplayCache(
  inner: ReplayCache,
  options: { perKey: number; windowMs: number },
): ReplayCache {
  const counts = new Map<string, { count: number; until: number }>();
  let sweepAt = 0;
  return {
    firstUse(key, expiresAt, now) {
      const owner = key.slice(0, Math.max(0, key.indexOf(":")));
      if (now >= sweepAt) {
        for (const [k, v] of counts) if (v.until <= now) counts.delete(k);
        sweepAt = now + options.windowMs;
      }
      let entry = counts.get(owner);
      if (!entry || entry.until <= now) {
        entry = { count: 0, until: now + options.windowMs };
        counts.set(owner, entry);
      }
      if (entry.count >= options.perKey) return false;
      const first = inner.firstUse(key, expiresAt, now);
      if (first === true) entry.count++;
      return first;
    },
  };
}
