/**
 * Counts attempts per key (a username, a client address, everyone) in a fixed window. Memory
 * is bounded: past `maxKeys`, expired windows are dropped first, then the oldest.
 */
export interface FailureLimiter {
  /** Seconds until the key may try again, or 0 when it may try now. */
  retryAfter(key: string, now: number): number;
  fail(key: string, now: number): void;
  /** Takes back one attempt of the current window: it succeeded, or never ran. */
  release(key: string, now: number): void;
  reset(key: string): void;
}

export function failureLimiter(options: {
  max: number;
  windowMs: number;
  maxKeys?: number;
}): FailureLimiter {
  const windows = new Map<string, { count: number; resetAt: number }>();
  const maxKeys = options.maxKeys ?? 100_000;
  return {
    retryAfter(key, now) {
      const entry = windows.get(key);
      if (!entry || entry.resetAt <= now) return 0;
      return entry.count >= options.max ? Math.ceil((entry.resetAt - now) / 1000) : 0;
    },
    fail(key, now) {
      const entry = windows.get(key);
      if (entry && entry.resetAt > now) {
        entry.count++;
        return;
      }
      if (windows.size >= maxKeys) {
        for (const [k, v] of windows) if (v.resetAt <= now) windows.delete(k);
        while (windows.size >= maxKeys) {
          const oldest = windows.keys().next().value;
          if (oldest === undefined) break;
          windows.delete(oldest);
        }
      }
      windows.set(key, { count: 1, resetAt: now + options.windowMs });
    },
    release(key, now) {
      const entry = windows.get(key);
      if (entry && entry.resetAt > now && entry.count > 0) entry.count--;
    },
    reset(key) {
      windows.delete(key);
    },
  };
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
