import { randomBytes } from "node:crypto";
import { expect, it } from "vitest";
import type { SessionStore, StoredSession } from "../stores/types.js";

/** What the feed tests need from the suite that registers them. */
export interface FeedTestContext {
  /** The store under test (opened by the suite before the tests run). */
  store(): SessionStore;
  /** Another instance on the same backend, as another process (or a restarted one) opens it. */
  peer?: () => SessionStore | Promise<SessionStore>;
  /** A record whose id the given store would hand out, with these fields. */
  recordFor(store: SessionStore, overrides: Partial<StoredSession>): StoredSession;
}

const T0 = 1_800_000_000_000;
/** Past any `maxLag` a verifier would be configured with: a day. */
const LAGGING = 86_400_000;
const rid = () => randomBytes(16).toString("base64url");
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(done: () => boolean, withinMs: number): Promise<void> {
  const deadline = Date.now() + withinMs;
  while (!done() && Date.now() < deadline) await pause(10);
}

/** Subscribes to `store` and counts how often each of `ids` is announced. */
function hear(store: SessionStore, ids: string[]) {
  const counts = new Map<string, number>();
  const stop = store.subscribe((c) => {
    if (ids.includes(c.id)) counts.set(c.id, (counts.get(c.id) ?? 0) + 1);
  });
  return { counts, stop, all: () => ids.every((id) => counts.has(id)) };
}

/**
 * The change feed's promises to the revocation sets of the `jwt` and `hybrid` strategies:
 * every subscriber (the first or a later one, in this process or a restarted one) learns every
 * revocation still inside its window, the window reaches past the record's expiry by the
 * verifiers' clock skew, and no revocation is lost to the commit order of concurrent writers.
 */
export function registerFeedTests(ctx: FeedTestContext): void {
  const { peer: makePeer } = ctx;

  it("replays the revocations still inside their window to every new subscriber, first or later", async () => {
    const store = ctx.store();
    const userId = `user-${rid()}`;
    const a = ctx.recordFor(store, { userId });
    const b = ctx.recordFor(store, { userId, strategy: "hybrid" });
    for (const r of [a, b]) await store.create(r, { now: T0 });
    await store.delete(a.id, "logout");
    await store.deleteUser(userId, { reason: "revoked-user" });
    // This instance (its revocations made before anyone listened) and, on a shared backend, a
    // new instance (a restarted process) that learns them from the backend's log.
    const instances = [store, ...(makePeer ? [await makePeer()] : [])];
    try {
      for (const instance of instances) {
        const first = hear(instance, [a.id, b.id]);
        await until(first.all, 3000);
        const second = hear(instance, [a.id, b.id]); // subscribes after the replay happened
        await until(second.all, 3000);
        await pause(300); // room for a repeated replay to show
        first.stop();
        second.stop();
        for (const heard of [first, second])
          expect(Object.fromEntries(heard.counts)).toEqual({ [a.id]: 1, [b.id]: 1 });
      }
    } finally {
      if (instances[1]) await instances[1].close();
    }
  });

  it("reports its feed as lagging from the moment one subscribes until the replay has been delivered", async () => {
    const store = ctx.store();
    const record = ctx.recordFor(store, {});
    await store.create(record, { now: T0 });
    await store.delete(record.id, "revoked");
    const instances = [store, ...(makePeer ? [await makePeer()] : [])];
    try {
      for (const instance of instances) {
        let heard = false;
        const stop = instance.subscribe((c) => {
          if (c.id === record.id) heard = true;
        });
        // A verifier may look in the very tick it subscribed, and at any moment after: until
        // the revocation has reached it, the feed must not pass for current under any maxLag.
        const deadline = Date.now() + 3000;
        while (!heard && Date.now() < deadline) {
          expect(instance.feedLag?.() ?? 0, "feedLag before the replay arrived").toBeGreaterThan(
            LAGGING,
          );
          await new Promise((resolve) => setImmediate(resolve));
        }
        expect(heard).toBe(true);
        // Once replayed, the feed is current again (it did not stay stale for good).
        await until(() => (instance.feedLag?.() ?? 0) < 1000, 3000);
        expect(instance.feedLag?.() ?? 0).toBeLessThan(1000);
        stop();
      }
    } finally {
      if (instances[1]) await instances[1].close();
    }
  });

  it("keeps a revocation past the record's expiry, for tokens the verifiers' skew still accepts", async () => {
    const store = ctx.store();
    // Wall-clock times: replay windows and log retention follow the wall clock.
    const now = Date.now();
    const record = ctx.recordFor(store, {
      createdAt: now - 60_000,
      lastActiveAt: now - 60_000,
      renewedAt: now - 60_000,
      authTime: now - 60_000,
      expiresAt: now + 500,
    });
    await store.create(record, { now });
    await store.delete(record.id, "revoked");
    await pause(Math.max(0, record.expiresAt + 100 - Date.now()));
    // Expiry cleanup runs (where the store has one); the revocation must survive it.
    await store.deleteExpired(Date.now(), 1000);
    const instances = [store, ...(makePeer ? [await makePeer()] : [])];
    try {
      for (const instance of instances) {
        const late = hear(instance, [record.id]);
        await until(late.all, 3000);
        late.stop();
        expect(late.counts.get(record.id)).toBe(1);
      }
    } finally {
      if (instances[1]) await instances[1].close();
    }
  });

  if (!makePeer) return;
  it("hears every revocation of concurrent transactions from other instances, whatever their commit order", async () => {
    const store = ctx.store();
    const [writerA, writerB] = [await makePeer(), await makePeer()];
    try {
      const users = Array.from({ length: 3 }, () => `user-${rid()}`);
      const grouped: StoredSession[] = [];
      for (const userId of users)
        for (let i = 0; i < 40; i++) grouped.push(ctx.recordFor(writerA, { userId }));
      const singles = Array.from({ length: 20 }, () => ctx.recordFor(writerA, {}));
      await Promise.all([...grouped, ...singles].map((r) => writerA.create(r, { now: T0 })));
      const warmUp = ctx.recordFor(writerA, {});
      await writerA.create(warmUp, { now: T0 });
      const ids = [...grouped, ...singles].map((r) => r.id);
      const heard = hear(store, [warmUp.id, ...ids]);
      // The subscriber is live once it hears a revocation made after it subscribed.
      await writerB.delete(warmUp.id, "revoked");
      await until(() => heard.counts.has(warmUp.id), 3000);
      // Large deleteUser transactions race small deletes that start later and commit first.
      await Promise.all([
        ...users.map((userId, i) =>
          (i % 2 ? writerB : writerA).deleteUser(userId, { reason: "revoked-user" }),
        ),
        ...singles.map(async (r, i) => {
          await pause(i % 5);
          await (i % 2 ? writerA : writerB).delete(r.id, "revoked");
        }),
      ]);
      await until(() => ids.every((id) => heard.counts.has(id)), 5000);
      heard.stop();
      expect(ids.filter((id) => !heard.counts.has(id))).toEqual([]);
    } finally {
      await writerA.close();
      await writerB.close();
    }
  });
}
