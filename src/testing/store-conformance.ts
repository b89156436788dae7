import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isSessionError } from "../errors.js";
import type { SessionStore, StoreChange, StoredSession, StrategyName } from "../stores/types.js";
import { registerBindingTests } from "./binding-conformance.js";
import { registerFeedTests } from "./feed-conformance.js";
import { registerReuseTests } from "./reuse-conformance.js";

/** Makes the backend unreachable and brings it back, for the outage tests. */
export interface OutageControl {
  begin(): Promise<void>;
  end(): Promise<void>;
}

export interface StoreHarness {
  /** Called once; the suite closes the store at the end. */
  create(): SessionStore | Promise<SessionStore>;
  /** Provide it when the backend can be cut off for real; its tests are skipped otherwise. */
  outage?: (store: SessionStore) => OutageControl;
  /**
   * A second instance on the same backend, as another process would open it. Provide it for
   * shared backends: the suite then checks that revocations cross instances.
   */
  peer?: () => SessionStore | Promise<SessionStore>;
  /**
   * `"ttl"` for a backend that expires records by itself on the wall clock (Redis): its
   * `deleteExpired` has nothing to do, so the tests of cleanup at a given logical time, which
   * a TTL cannot follow, are not registered for it.
   */
  expiry?: "cleanup" | "ttl";
}

const T0 = 1_800_000_000_000;
const HOUR = 3_600_000;

const rid = () => randomBytes(16).toString("base64url");

export function makeRecord(overrides: Partial<StoredSession> = {}): StoredSession {
  const createdAt = overrides.createdAt ?? T0;
  return {
    id: rid(),
    userId: `user-${rid()}`,
    strategy: "id",
    secretHash: randomBytes(32).toString("base64url"),
    previousSecretHash: null,
    previousValidUntil: null,
    successor: null,
    createdAt,
    lastActiveAt: createdAt,
    renewedAt: createdAt,
    authTime: createdAt,
    expiresAt: createdAt + HOUR,
    absoluteExpiresAt: createdAt + 12 * HOUR,
    ip: "203.0.113.7",
    userAgent: "Mozilla/5.0 (conformance)",
    data: { theme: "dark", nested: { n: 1, list: [1, "two", null] } },
    version: 0,
    binding: null,
    ...overrides,
  };
}

/**
 * The store contract of `sessionkit/stores`, as tests. Run it in a vitest file:
 * `runStoreConformance("sqlite", { create: () => sqliteStore({ path }) })`.
 * Every test uses fresh random user and session ids, so a shared backend is fine.
 *
 * @example
 * ```ts
 * // A vitest test file, e.g. test/my-store.test.ts
 * import { sqliteStore } from "sessionkit/stores/sqlite";
 * import { runStoreConformance } from "sessionkit/testing";
 *
 * const path = "test-results/conformance.db";
 * runStoreConformance("sqlite", {
 *   create: () => sqliteStore({ path }), // your store here
 *   peer: () => sqliteStore({ path }), // a second instance on the same backend
 * });
 * ```
 */
export function runStoreConformance(name: string, harness: StoreHarness): void {
  describe(`store conformance: ${name}`, () => {
    let store: SessionStore;
    beforeAll(async () => {
      store = await harness.create();
    });
    afterAll(async () => {
      await store?.close();
    });

    /** A record whose id the store itself would give (Redis places data by it). */
    const recordFor = (overrides: Partial<StoredSession> = {}) => {
      const userId = overrides.userId ?? `user-${rid()}`;
      return makeRecord({
        ...overrides,
        userId,
        id: overrides.id ?? store.newSessionId?.(userId) ?? rid(),
      });
    };
    const seed = async (overrides: Partial<StoredSession> = {}, max?: number) => {
      const record = recordFor(overrides);
      const opts = max === undefined ? { now: T0 } : { now: T0, maxSessionsPerUser: max };
      await store.create(record, opts);
      return record;
    };
    /**
     * Listens for the revocations of the named users only: a new subscriber also hears the
     * revocations of earlier tests still inside their window (the replay every subscriber gets).
     */
    const collect = (...userIds: string[]) => {
      const seen: StoreChange[] = [];
      const stop = store.subscribe((c) => {
        if (userIds.includes(c.userId)) seen.push(c);
      });
      return { seen, stop };
    };

    it("returns what was created, field for field", async () => {
      const record = await seed();
      expect(await store.get(record.id, T0)).toEqual(record);
    });

    it("returns null for an unknown id", async () => {
      expect(await store.get(rid(), T0)).toBeNull();
    });

    it("never returns a record at or past its expiry", async () => {
      const record = await seed();
      expect(await store.get(record.id, record.expiresAt - 1)).not.toBeNull();
      expect(await store.get(record.id, record.expiresAt)).toBeNull();
      expect(await store.listUser(record.userId, record.expiresAt)).toEqual([]);
    });

    it("hands out copies: mutating a returned record changes nothing stored", async () => {
      const record = await seed();
      const got = await store.get(record.id, T0);
      if (!got) throw new Error("missing");
      got.data.theme = "light";
      got.userId = "someone-else";
      expect(await store.get(record.id, T0)).toEqual(record);
    });

    it("touch slides expiry forward but never past the absolute limit", async () => {
      const record = await seed();
      expect(
        await store.touch(record.id, {
          now: T0 + 10,
          lastActiveAt: T0 + 10,
          expiresAt: T0 + 2 * HOUR,
        }),
      ).toBe(true);
      let got = await store.get(record.id, T0 + 10);
      expect(got?.lastActiveAt).toBe(T0 + 10);
      expect(got?.expiresAt).toBe(T0 + 2 * HOUR);
      expect(got?.version).toBe(0);
      await store.touch(record.id, {
        now: T0 + 20,
        lastActiveAt: T0 + 20,
        expiresAt: T0 + 99 * HOUR,
      });
      got = await store.get(record.id, T0 + 20);
      expect(got?.expiresAt).toBe(record.absoluteExpiresAt);
      expect(await store.touch(rid(), { now: T0, lastActiveAt: T0, expiresAt: T0 + HOUR })).toBe(
        false,
      );
    });

    it("update applies only on the expected version and bumps it", async () => {
      const record = await seed();
      const ok = await store.update(record.id, { now: T0, expectedVersion: 0, data: { a: 1 } });
      expect(ok.status).toBe("updated");
      expect(ok.status === "updated" && ok.record.version).toBe(1);
      const stale = await store.update(record.id, { now: T0, expectedVersion: 0, data: { a: 2 } });
      expect(stale.status).toBe("conflict");
      expect(stale.status === "conflict" && stale.record.data).toEqual({ a: 1 });
      expect(await store.update(rid(), { now: T0, expectedVersion: 0, data: {} })).toEqual({
        status: "missing",
      });
    });

    it("of concurrent updates on one version exactly one wins", async () => {
      const record = await seed();
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          store.update(record.id, { now: T0, expectedVersion: 0, data: { i } }),
        ),
      );
      expect(results.filter((r) => r.status === "updated")).toHaveLength(1);
      expect((await store.get(record.id, T0))?.version).toBe(1);
    });

    it("rotate is a compare-and-swap: of 20 concurrent callers exactly one wins", async () => {
      const record = await seed();
      const replaced = `${record.secretHash}.olderSecretHash1.olderSecretHash2`;
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          store.rotate(record.id, {
            now: T0 + 5,
            expectedSecretHash: record.secretHash ?? "",
            previousSecretHash: replaced,
            secretHash: `next-${i}`,
            successor: `sealed-${i}`,
            graceUntil: T0 + 10_005,
          }),
        ),
      );
      const winners = results.filter((r) => r !== null);
      expect(winners).toHaveLength(1);
      const stored = await store.get(record.id, T0 + 5);
      expect(stored?.secretHash).toBe(winners[0]?.secretHash);
      expect(stored?.previousSecretHash).toBe(replaced);
      expect(stored?.previousValidUntil).toBe(T0 + 10_005);
      expect(stored?.successor).toBe(winners[0]?.successor);
      expect(stored?.renewedAt).toBe(T0 + 5);
    });

    it("rotate refuses a secret that is not current, and an expired session", async () => {
      const record = await seed();
      const input = {
        now: T0,
        expectedSecretHash: "not-it",
        previousSecretHash: "not-it",
        secretHash: "x",
        successor: "y",
        graceUntil: T0,
      };
      expect(await store.rotate(record.id, input)).toBeNull();
      const expired = {
        ...input,
        now: record.expiresAt,
        expectedSecretHash: record.secretHash ?? "",
      };
      expect(await store.rotate(record.id, expired)).toBeNull();
    });

    it("delete removes, returns the record once, and announces it", async () => {
      const record = await seed();
      const { seen, stop } = collect(record.userId);
      expect((await store.delete(record.id, "logout"))?.id).toBe(record.id);
      expect(await store.delete(record.id, "logout")).toBeNull();
      expect(await store.get(record.id, T0)).toBeNull();
      stop();
      expect(seen).toEqual([
        {
          type: "revoked",
          id: record.id,
          userId: record.userId,
          strategy: "id",
          expiresAt: record.expiresAt,
          reason: "logout",
        },
      ]);
    });

    it("deleteUser removes one user's sessions of one strategy, sparing `except`", async () => {
      const userId = `user-${rid()}`;
      const [a, b, c] = [await seed({ userId }), await seed({ userId }), await seed({ userId })];
      const jwt = await seed({ userId, strategy: "jwt", secretHash: null });
      const other = await seed();
      const { seen, stop } = collect(userId, other.userId);
      const gone = await store.deleteUser(userId, {
        strategy: "id",
        except: b.id,
        reason: "revoked-user",
      });
      stop();
      expect(gone.map((r) => r.id).sort()).toEqual([a.id, c.id].sort());
      expect(seen.map((s) => s.id).sort()).toEqual([a.id, c.id].sort());
      expect((await store.listUser(userId, T0)).map((r) => r.id).sort()).toEqual(
        [b.id, jwt.id].sort(),
      );
      expect(await store.get(other.id, T0)).not.toBeNull();
      await store.deleteUser(userId, { reason: "revoked-user" });
      expect(await store.listUser(userId, T0)).toEqual([]);
    });

    it("listUser returns only that user's live sessions, oldest first", async () => {
      const userId = `user-${rid()}`;
      const late = await seed({ userId, createdAt: T0 + 2 });
      const early = await seed({ userId, createdAt: T0 + 1 });
      await seed({ userId, createdAt: T0, expiresAt: T0 + 3 });
      await seed();
      const list = await store.listUser(userId, T0 + 3);
      expect(list.map((r) => r.id)).toEqual([early.id, late.id]);
    });

    it("evicts the oldest sessions of the same strategy past maxSessionsPerUser", async () => {
      const userId = `user-${rid()}`;
      const strategy: StrategyName = "id";
      const created: StoredSession[] = [];
      const jwt = await seed({ userId, strategy: "jwt", secretHash: null, createdAt: T0 - 10 });
      const { seen, stop } = collect(userId);
      for (let i = 0; i < 5; i++) {
        const record = recordFor({ userId, strategy, createdAt: T0 + i });
        const { evicted } = await store.create(record, { now: T0 + i, maxSessionsPerUser: 3 });
        expect(evicted.map((r) => r.id)).toEqual(i < 3 ? [] : [created[i - 3]?.id]);
        created.push(record);
      }
      stop();
      const ids = (await store.listUser(userId, T0 + 5)).map((r) => r.id);
      expect(ids).toEqual([jwt.id, ...created.slice(2).map((r) => r.id)]);
      expect(seen.filter((c) => c.reason === "evicted").map((c) => c.id)).toEqual([
        created[0]?.id,
        created[1]?.id,
      ]);
    });

    it("never evicts the session being created, even when it ties on createdAt", async () => {
      // Two sign-ins in the same millisecond share createdAt; ordering the tie by the random
      // id evicted the new session half of the time, signing the user out of the session
      // they had just been handed.
      const userId = `user-${rid()}`;
      let previous: StoredSession | null = null;
      for (let i = 0; i < 12; i++) {
        const record = recordFor({ userId, createdAt: T0 });
        const { evicted } = await store.create(record, { now: T0, maxSessionsPerUser: 1 });
        expect(evicted.map((r) => r.id)).toEqual(previous ? [previous.id] : []);
        expect(await store.get(record.id, T0)).not.toBeNull();
        previous = record;
      }
      expect((await store.listUser(userId, T0)).map((r) => r.id)).toEqual([previous?.id]);
    });

    if (harness.expiry !== "ttl") registerCleanupTests();
    function registerCleanupTests() {
      it("deletes expired records in bounded batches and leaves live ones", async () => {
        const userId = `user-${rid()}`;
        const far = T0 + 1000 * HOUR;
        for (let i = 0; i < 5; i++)
          await seed({ userId, expiresAt: far + i, absoluteExpiresAt: far + i });
        const live = await seed({ userId, expiresAt: far + 100, absoluteExpiresAt: far + 100 });
        // Anything else in a shared backend that is also expired by then gets cleaned too, so
        // count only this user's records.
        let rounds = 0;
        while ((await store.deleteExpired(far + 50, 3)).length > 0 && rounds < 10_000) rounds++;
        expect((await store.deleteExpired(far + 50, 3)).length).toBe(0);
        const left = await store.listUser(userId, T0);
        expect(left.map((r) => r.id)).toEqual([live.id]);
        const batch = await store.deleteExpired(far + 50, 3);
        expect(batch.length).toBeLessThanOrEqual(3);
      });

      it("expiry cleanup spares a record whose expiry slid, and takes it once it is due", async () => {
        const userId = `user-${rid()}`;
        const far = T0 + 3000 * HOUR;
        const record = await seed({ userId, expiresAt: far, absoluteExpiresAt: far + HOUR });
        await store.touch(record.id, { now: far - 1, lastActiveAt: far - 1, expiresAt: far + 10 });
        while ((await store.deleteExpired(far + 5, 100)).length > 0) {}
        expect((await store.listUser(userId, far + 5)).map((r) => r.id)).toEqual([record.id]);
        let gone: StoredSession[] = [];
        for (let round = 0; round < 10_000 && !gone.some((r) => r.id === record.id); round++) {
          const batch = await store.deleteExpired(far + 10, 100);
          if (batch.length === 0) break;
          gone = gone.concat(batch);
        }
        expect(gone.map((r) => r.id)).toContain(record.id);
      });

      it("a bounded batch never deletes more than asked", async () => {
        const userId = `user-${rid()}`;
        const far = T0 + 2000 * HOUR;
        for (let i = 0; i < 4; i++)
          await seed({ userId, expiresAt: far + i, absoluteExpiresAt: far + i });
        const first = await store.deleteExpired(far + 10, 2);
        expect(first.length).toBe(2);
      });
    }

    registerBindingTests({
      store: () => store,
      ...(harness.peer ? { peer: harness.peer } : {}),
      recordFor,
      cleanup: harness.expiry !== "ttl",
    });

    it("stops announcing to a listener after it unsubscribes", async () => {
      const record = await seed();
      const { seen, stop } = collect(record.userId);
      stop();
      await store.delete(record.id, "revoked");
      expect(seen).toEqual([]);
    });

    it("answers ping while the backend is up", async () => {
      await expect(store.ping()).resolves.toBeUndefined();
    });

    it("announces each of its own revocations exactly once", async () => {
      const userId = `user-${rid()}`;
      const a = await seed({ userId });
      const b = await seed({ userId });
      const { seen, stop } = collect(userId);
      await store.delete(a.id, "revoked");
      await store.deleteUser(userId, { reason: "revoked-user" });
      await new Promise((resolve) => setTimeout(resolve, 300)); // room for a poller to misbehave
      stop();
      expect(seen.map((c) => [c.id, c.reason])).toEqual([
        [a.id, "revoked"],
        [b.id, "revoked-user"],
      ]);
    });

    if (harness.peer) {
      const makePeer = harness.peer;
      it("announces revocations made through another instance on the same backend", async () => {
        const peer = await makePeer();
        try {
          const userId = `user-${rid()}`;
          const one = await seed({ userId });
          const two = await seed({ userId });
          const evicting = recordFor({ userId, createdAt: T0 + 1 });
          const { seen, stop } = collect(userId);
          await peer.delete(one.id, "logout");
          await peer.create(evicting, { now: T0 + 1, maxSessionsPerUser: 1 });
          const deadline = Date.now() + 3000;
          while (seen.length < 2 && Date.now() < deadline)
            await new Promise((r) => setTimeout(r, 10));
          stop();
          // Each revocation exactly once; the feed promises no order across revocations (a
          // backend may deliver one live and an earlier one from its log).
          const heard = seen.map((c) => [c.id, c.userId, c.reason].join(" ")).sort();
          expect(heard).toEqual(
            [`${one.id} ${userId} logout`, `${two.id} ${userId} evicted`].sort(),
          );
          expect(await store.get(two.id, T0)).toBeNull();
        } finally {
          await peer.close();
        }
      });
    }

    registerFeedTests({
      store: () => store,
      ...(harness.peer ? { peer: harness.peer } : {}),
      recordFor: (s, overrides) => {
        const userId = overrides.userId ?? `user-${rid()}`;
        return makeRecord({ ...overrides, userId, id: s.newSessionId?.(userId) ?? rid() });
      },
    });

    registerReuseTests({ store: () => store });

    // Only backends that can really be cut off register this test (memory cannot).
    if (!harness.outage) return;
    it("fails with STORE_UNAVAILABLE during an outage and recovers without restart", async () => {
      if (!harness.outage) return;
      const record = await seed();
      const outage = harness.outage(store);
      await outage.begin();
      try {
        // Writes and ping must fail. A read may still succeed where the backend serves
        // reads through the outage (SQLite under another process's write lock), but then
        // it must return the right record.
        const failures = await Promise.allSettled([
          store.ping(),
          store.create(recordFor(), { now: T0 }),
          store.delete(record.id, "revoked"),
          store.touch(record.id, { now: T0, lastActiveAt: T0, expiresAt: T0 + HOUR }),
        ]);
        for (const failure of failures) {
          expect(failure.status).toBe("rejected");
          if (failure.status === "rejected") {
            expect(isSessionError(failure.reason, "STORE_UNAVAILABLE")).toBe(true);
          }
        }
        const read = await store.get(record.id, T0).then(
          (value) => ({ ok: true as const, value }),
          (error: unknown) => ({ ok: false as const, error }),
        );
        if (read.ok) expect(read.value?.id).toBe(record.id);
        else expect(isSessionError(read.error, "STORE_UNAVAILABLE")).toBe(true);
      } finally {
        await outage.end();
      }
      await expect(store.ping()).resolves.toBeUndefined();
      expect((await store.get(record.id, T0))?.id).toBe(record.id);
    });
  });
}
