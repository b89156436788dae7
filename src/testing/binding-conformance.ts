import { randomBytes } from "node:crypto";
import { expect, it, type TestContext } from "vitest";
import type { SessionStore, StoredSession } from "../stores/types.js";

/** What the binding tests need from the suite that registers them. */
export interface BindingTestContext {
  /** The store under test (opened by the suite before the tests run). */
  store(): SessionStore;
  /** A second instance on the same backend, for shared backends. */
  peer?: () => SessionStore | Promise<SessionStore>;
  /** A new record as the store would be given it (its own kind of id), not yet created. */
  recordFor(overrides?: Partial<StoredSession>): StoredSession;
  /** Whether `deleteExpired` returns what it deletes (false for TTL backends). */
  cleanup: boolean;
}

const HOUR = 3_600_000;

/**
 * A binding as the manager writes one (key kind, thumbprint, public JWK), with characters a
 * backend's encoding could alter: a slash, a quote, a backslash, and text beyond ASCII.
 */
export function makeBinding(label = "key"): string {
  const b64 = (n: number) => randomBytes(n).toString("base64url");
  return JSON.stringify({
    kind: "dpop",
    jkt: b64(32),
    jwk: { kty: "EC", crv: "P-256", x: b64(32), y: b64(32) },
    note: `${label} / "quoted" \\ é ✓ 🔑`,
  });
}

/**
 * The `binding` of a record and `SessionStore.bind`: a binding given to `create` comes back
 * from every read and survives every change; `bind` sets one on an unbound live session
 * exactly once, even under a race, and never replaces one. A store without `bind` skips these.
 */
export function registerBindingTests(ctx: BindingTestContext): void {
  /** The store's `bind`, or the test is skipped: `bind` is optional in the contract. */
  const binder = (test: TestContext) => bindOf(ctx.store()) ?? test.skip("the store has no bind");
  const seed = async (overrides: Partial<StoredSession> = {}) => {
    const record = ctx.recordFor(overrides);
    await ctx.store().create(record, { now: record.createdAt });
    return record;
  };
  /** A session created unbound and then bound by `bind`, as a DPoP or DBSC sign-in leaves it. */
  const seedBound = async (test: TestContext) => {
    const bind = binder(test);
    const store = ctx.store();
    const record = await seed();
    const now = record.createdAt;
    const binding = makeBinding();
    expect(await bind(record.id, binding, now)).toBe("bound");
    return { bind, store, record, now, binding };
  };

  it("returns the binding given to create from every read and every change", async (test) => {
    binder(test);
    const store = ctx.store();
    const binding = makeBinding();
    const record = await seed({ binding });
    const now = record.createdAt;
    expect(await store.get(record.id, now)).toEqual(record);
    expect(await store.listUser(record.userId, now)).toEqual([record]);
    expect(
      await store.touch(record.id, { now, lastActiveAt: now + 1, expiresAt: now + 2 * HOUR }),
    ).toBe(true);
    expect((await store.get(record.id, now))?.binding).toBe(binding);
    const updated = await store.update(record.id, { now, expectedVersion: 0, data: { a: 1 } });
    expect(updated.status === "updated" && updated.record.binding).toBe(binding);
    const stale = await store.update(record.id, { now, expectedVersion: 0, data: { a: 2 } });
    expect(stale.status === "conflict" && stale.record.binding).toBe(binding);
    const rotated = await store.rotate(record.id, {
      now,
      expectedSecretHash: record.secretHash ?? "",
      previousSecretHash: record.secretHash ?? "",
      secretHash: "next",
      successor: "sealed",
      graceUntil: now + 10_000,
    });
    expect(rotated?.binding).toBe(binding);
    expect((await store.get(record.id, now))?.binding).toBe(binding);
    expect((await store.delete(record.id, "logout"))?.binding).toBe(binding);
  });

  it("returns the bindings of the sessions it evicts and of those a user loses", async (test) => {
    binder(test);
    const store = ctx.store();
    const userId = `user-${randomBytes(9).toString("base64url")}`;
    const [a, b] = [makeBinding("a"), makeBinding("b")];
    const old = await seed({ userId, binding: a });
    const now = old.createdAt;
    const next = ctx.recordFor({ userId, createdAt: now + 1, binding: b });
    const { evicted } = await store.create(next, { now: now + 1, maxSessionsPerUser: 1 });
    expect(evicted).toEqual([old]);
    const unbound = await seed({ userId, strategy: "jwt", secretHash: null });
    const gone = await store.deleteUser(userId, { reason: "revoked-user" });
    expect(gone.map((r) => [r.id, r.binding]).sort()).toEqual(
      [
        [next.id, b],
        [unbound.id, null],
      ].sort(),
    );
  });

  it("sets the binding of an unbound session once and changes nothing else", async (test) => {
    const { bind, store, record, now, binding } = await seedBound(test);
    expect(await store.get(record.id, now)).toEqual({ ...record, binding });
    expect(await store.listUser(record.userId, now)).toEqual([{ ...record, binding }]);
    // Bound already: another key is refused, and so is the same one again.
    expect(await bind(record.id, makeBinding("other"), now)).toBe("conflict");
    expect(await bind(record.id, binding, now)).toBe("conflict");
    expect((await store.get(record.id, now))?.binding).toBe(binding);
  });

  it("never replaces a binding given to create", async (test) => {
    const bind = binder(test);
    const binding = makeBinding();
    const record = await seed({ binding });
    expect(await bind(record.id, makeBinding("other"), record.createdAt)).toBe("conflict");
    expect(await ctx.store().get(record.id, record.createdAt)).toEqual(record);
  });

  it("answers missing for an absent, expired or deleted session, and binds nothing", async (test) => {
    const bind = binder(test);
    const store = ctx.store();
    const record = await seed();
    const now = record.createdAt;
    expect(await bind(randomBytes(16).toString("base64url"), makeBinding(), now)).toBe("missing");
    expect(await bind(record.id, makeBinding(), record.expiresAt)).toBe("missing");
    expect(await store.get(record.id, now)).toEqual(record);
    await store.delete(record.id, "logout");
    expect(await bind(record.id, makeBinding(), now)).toBe("missing");
    expect(await store.get(record.id, now)).toBeNull();
  });

  it("lets exactly one of 20 concurrent binds win, and keeps the winner's", async (test) => {
    const bind = binder(test);
    const record = await seed();
    const now = record.createdAt;
    // Through two instances where the backend is shared: two connections racing for real.
    const peer = ctx.peer ? await ctx.peer() : null;
    try {
      const other = (peer && bindOf(peer)) ?? bind;
      const bindings = Array.from({ length: 20 }, (_, i) => makeBinding(`racer ${i}`));
      const results = await Promise.all(
        bindings.map((b, i) => (i % 2 === 0 ? bind : other)(record.id, b, now)),
      );
      const winners = bindings.filter((_, i) => results[i] === "bound");
      expect(winners).toHaveLength(1);
      expect(results.filter((r) => r === "conflict")).toHaveLength(19);
      expect((await ctx.store().get(record.id, now))?.binding).toBe(winners[0]);
    } finally {
      await peer?.close();
    }
  });

  it("keeps a binding set by bind through touch, update and rotate", async (test) => {
    const { store, record, now, binding } = await seedBound(test);
    await store.touch(record.id, { now: now + 5, lastActiveAt: now + 5, expiresAt: now + HOUR });
    const updated = await store.update(record.id, { now, expectedVersion: 0, data: { b: 2 } });
    expect(updated.status === "updated" && updated.record.binding).toBe(binding);
    const rotated = await store.rotate(record.id, {
      now: now + 6,
      expectedSecretHash: record.secretHash ?? "",
      previousSecretHash: record.secretHash ?? "",
      secretHash: "next",
      successor: "sealed",
      graceUntil: now + 10_006,
      expiresAt: now + 2 * HOUR,
    });
    expect(rotated?.binding).toBe(binding);
    expect(await store.get(record.id, now + 6)).toEqual({
      ...record,
      binding,
      data: { b: 2 },
      version: 1,
      secretHash: "next",
      previousSecretHash: record.secretHash,
      previousValidUntil: now + 10_006,
      successor: "sealed",
      renewedAt: now + 6,
      lastActiveAt: now + 5,
      expiresAt: now + 2 * HOUR,
    });
  });

  if (!ctx.cleanup) return;
  it("returns the binding of an expired session it cleans up", async (test) => {
    binder(test);
    const store = ctx.store();
    const fresh = ctx.recordFor({ binding: makeBinding() });
    // Clear of the expiries the other cleanup tests work with; the sweep also takes whatever
    // earlier tests left behind, hence the loop.
    const far = fresh.createdAt + 4000 * HOUR;
    const record = { ...fresh, expiresAt: far, absoluteExpiresAt: far };
    await store.create(record, { now: record.createdAt });
    let found: StoredSession | undefined;
    for (let round = 0; round < 10_000 && !found; round++) {
      const batch = await store.deleteExpired(far, 100);
      if (batch.length === 0) break;
      found = batch.find((r) => r.id === record.id);
    }
    expect(found).toEqual(record);
  });
}

/** The store's `bind` as a plain function, if it has one. */
function bindOf(store: SessionStore) {
  const method = store.bind;
  return method
    ? (id: string, binding: string, now: number) => method.call(store, id, binding, now)
    : undefined;
}
