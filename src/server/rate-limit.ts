/**
 * Counts attempts per key (a username, a client address, everyone) in a fixed window. Memory
 * is bounded by `maxKeys`: a new key takes the place of an expired window or, failing that, of
 * the oldest window that is not locked. A locked key is never dropped (that would unlock it);
 * when every key held is locked, a new key is refused until a window ends (fail closed).
 */
export interface FailureLimiter {
  /** Seconds until the key may try again, or 0 when it may try now. */
  retryAfter(key: string, now: number): number;
  fail(key: string, now: number): void;
  /** Takes back one attempt of the current window: it succeeded, or never ran. */
  release(key: string, now: number): void;
  reset(key: string): void;
}

interface Window {
  count: number;
  resetAt: number;
}

export function failureLimiter(options: {
  max: number;
  windowMs: number;
  maxKeys?: number;
}): FailureLimiter {
  // Every window lasts `windowMs` from its insertion, so insertion order is expiry order:
  // the oldest entry is always first, and making room stops at the first one it may keep.
  const open = oldestFirst();
  // Locked windows met at the front of `open` move here, in the same order, to be kept.
  const locked = oldestFirst();
  const maxKeys = options.maxKeys ?? 100_000;
  const find = (key: string) => open.map.get(key) ?? locked.map.get(key);
  /** Frees a place for a new key; false when every live key is locked. */
  const makeRoom = (now: number) => {
    while (open.map.size + locked.map.size >= maxKeys) {
      const pinned = locked.peek();
      if (pinned && pinned[1].resetAt <= now) {
        locked.shift();
        continue;
      }
      const oldest = open.peek();
      if (!oldest) return false;
      open.shift();
      const [key, entry] = oldest;
      if (entry.resetAt > now && entry.count >= options.max) locked.map.set(key, entry);
    }
    return true;
  };
  const wait = (entry: Window, now: number) => Math.max(1, Math.ceil((entry.resetAt - now) / 1000));
  return {
    retryAfter(key, now) {
      const entry = find(key);
      if (!entry) {
        if (makeRoom(now)) return 0;
        const pinned = locked.peek();
        return pinned ? wait(pinned[1], now) : 1;
      }
      if (entry.resetAt <= now) return 0;
      return entry.count >= options.max ? wait(entry, now) : 0;
    },
    fail(key, now) {
      const entry = find(key);
      if (entry && entry.resetAt > now) {
        entry.count++;
        return;
      }
      // A window that ended starts again at the back, where its new expiry belongs.
      open.map.delete(key);
      locked.map.delete(key);
      if (makeRoom(now)) open.map.set(key, { count: 1, resetAt: now + options.windowMs });
    },
    release(key, now) {
      const entry = find(key);
      if (entry && entry.resetAt > now && entry.count > 0) entry.count--;
    },
    reset(key) {
      open.map.delete(key);
      locked.map.delete(key);
    },
  };
}

/**
 * A Map read from its oldest entry on in O(1) amortised. One live iterator walks it for good:
 * `entries().next()` anew each time would step over every slot deleted since the Map last
 * rehashed, which is O(n) per call once entries come and go at the front.
 */
function oldestFirst() {
  const map = new Map<string, Window>();
  let cursor = map.entries();
  let head: [string, Window] | undefined;
  const peek = (): [string, Window] | undefined => {
    // The head may have been deleted or set anew (then it is further back) since it was read.
    while (!head || map.get(head[0]) !== head[1]) {
      let next = cursor.next();
      // A finished iterator sees nothing added later: start again past what was read.
      if (next.done) {
        cursor = map.entries();
        next = cursor.next();
      }
      head = next.done ? undefined : next.value;
      if (!head) return undefined;
    }
    return head;
  };
  const shift = () => {
    if (head) map.delete(head[0]);
    head = undefined;
  };
  return { map, peek, shift };
}

export type LimitSlot = readonly [FailureLimiter, string];

/**
 * Counts one attempt under every slot, or none when any of them is exhausted; answers the
 * seconds to wait (0: counted). Check and count happen with no await between them, so that
 * parallel requests cannot all pass a check made before a slow step that counts after it.
 */
export function reserve(slots: readonly LimitSlot[], now: number): number {
  const wait = Math.max(0, ...slots.map(([limiter, key]) => limiter.retryAfter(key, now)));
  if (wait === 0) for (const [limiter, key] of slots) limiter.fail(key, now);
  return wait;
}

export function release(slots: readonly LimitSlot[], now: number): void {
  for (const [limiter, key] of slots) limiter.release(key, now);
}
