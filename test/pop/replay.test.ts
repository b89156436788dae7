import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isSessionError } from "../../src/errors.js";
import { memoryReplayCache } from "../../src/pop/replay.js";

describe("memoryReplayCache", () => {
  it("answers true the first time and false while the entry lives, expiry inclusive", () => {
    const cache = memoryReplayCache({ max: 10 });
    expect(cache.firstUse("a", 1_000, 0)).toBe(true);
    expect(cache.firstUse("a", 1_000, 1)).toBe(false);
    expect(cache.firstUse("a", 5_000, 999)).toBe(false);
    expect(cache.firstUse("a", 1_000, 1_000)).toBe(false);
    expect(cache.firstUse("b", 1_000, 1_000)).toBe(true);
    // Past its expiry the value is forgotten: a proof that old is refused by its age instead.
    expect(cache.firstUse("a", 2_000, 1_001)).toBe(true);
    expect(cache.firstUse("a", 2_000, 1_002)).toBe(false);
  });

  it("remembers nothing for a value already expired", () => {
    const cache = memoryReplayCache({ max: 10 });
    expect(cache.firstUse("old", 99, 100)).toBe(true);
    expect(cache.size).toBe(0);
  });

  it("when full of live entries, refuses new values and still refuses the live ones", () => {
    const cache = memoryReplayCache({ max: 3 });
    for (const key of ["a", "b", "c"]) expect(cache.firstUse(key, 1_000, 0)).toBe(true);
    expect(cache.firstUse("d", 1_000, 10)).toBe(false);
    expect(cache.firstUse("d", 1_000, 20)).toBe(false);
    for (const key of ["a", "b", "c"]) expect(cache.firstUse(key, 1_000, 30)).toBe(false);
    expect(cache.size).toBe(3);
    // Once they expire there is room again.
    expect(cache.firstUse("d", 3_000, 1_001)).toBe(true);
  });

  it("drops expired entries as it goes, so steady traffic stays at its live count", () => {
    const cache = memoryReplayCache({ max: 1_000 });
    for (let t = 0; t < 10_000; t++) expect(cache.firstUse(`k${t}`, t + 100, t)).toBe(true);
    expect(cache.size).toBeLessThanOrEqual(102);
  });

  it("frees entries that expired behind a longer-lived one when it fills", () => {
    const cache = memoryReplayCache({ max: 4 });
    expect(cache.firstUse("long", 1_000_000, 0)).toBe(true);
    for (const key of ["s1", "s2", "s3"]) expect(cache.firstUse(key, 10, 0)).toBe(true);
    // The oldest entry is live, so the cheap drop stops at it; the full sweep finds the rest.
    expect(cache.firstUse("new", 1_000, 11)).toBe(true);
    expect(cache.firstUse("long", 1_000_000, 12)).toBe(false);
    expect(cache.firstUse("new", 1_000, 12)).toBe(false);
  });

  it("refuses keys it will not hold and times that are not numbers", () => {
    const cache = memoryReplayCache({ max: 10 });
    expect(cache.firstUse("x".repeat(513), 1_000, 0)).toBe(false);
    expect(cache.firstUse("k", Number.NaN, 0)).toBe(false);
    expect(cache.firstUse("k", 1_000, Number.NaN)).toBe(false);
    expect(cache.firstUse("k", Number.POSITIVE_INFINITY, 0)).toBe(false);
    expect(cache.firstUse(42 as unknown as string, 1_000, 0)).toBe(false);
    expect(cache.size).toBe(0);
  });

  it("throws at construction on a max that is not a positive integer", () => {
    for (const max of [0, -1, 1.5, Number.NaN]) {
      let thrown: unknown;
      try {
        memoryReplayCache({ max });
      } catch (error) {
        thrown = error;
      }
      expect(isSessionError(thrown, "CONFIG_INVALID"), String(max)).toBe(true);
    }
  });

  it("against an unbounded model: never true for a live value, never false for a fresh one unless three quarters are live", () => {
    const max = 8;
    const keys = Array.from({ length: 40 }, (_, i) => `k${i}`);
    // Short and long lifetimes mixed (a long one ahead blocks the cheap drop), small steps so
    // the cache is full often, and long runs: the full-cache rules are exercised every run.
    const step = fc.record({
      key: fc.constantFrom(...keys),
      lifetime: fc.oneof(fc.integer({ min: -5, max: 20 }), fc.integer({ min: 150, max: 300 })),
      advance: fc.integer({ min: 0, max: 10 }),
    });
    fc.assert(
      fc.property(fc.array(step, { minLength: 100, maxLength: 200 }), (steps) => {
        const cache = memoryReplayCache({ max });
        const model = new Map<string, number>();
        let now = 0;
        for (const { key, lifetime, advance } of steps) {
          now += advance;
          const live = [...model.values()].filter((expiresAt) => expiresAt >= now).length;
          const seen = model.get(key);
          const fresh = seen === undefined || seen < now;
          const answer = cache.firstUse(key, now + lifetime, now);
          if (!fresh) expect(answer).toBe(false);
          if (fresh && live <= Math.floor((max * 3) / 4)) expect(answer).toBe(true);
          if (answer && lifetime >= 0) model.set(key, now + lifetime);
          expect(cache.size).toBeLessThanOrEqual(max);
        }
      }),
      { numRuns: 300 },
    );
  });

  it("stays cheap under a flood of live entries with staggered expiries", () => {
    const cache = memoryReplayCache({ max: 10_000 });
    // A long-lived first entry keeps the cheap drop from freeing anything: only sweeps can.
    expect(cache.firstUse("long", 1e12, 0)).toBe(true);
    const started = performance.now();
    let accepted = 0;
    // One new value per millisecond, each living 20 s: the cache is full almost all the time.
    for (let now = 1; now < 200_000; now++) {
      if (cache.firstUse(`k${now}`, now + 20_000, now)) accepted++;
    }
    const elapsed = performance.now() - started;
    // A sweep per call would be 200 000 × 10 000 steps (many seconds); amortised is milliseconds.
    expect(elapsed).toBeLessThan(3_000);
    expect(accepted).toBeGreaterThan(10_000);
    expect(cache.size).toBeLessThanOrEqual(10_000);
  });
});
