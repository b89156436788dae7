import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  createSessionManager,
  type SessionManagerOptions,
  type SessionStore,
} from "../../src/index.js";
import { memoryStore } from "../../src/stores/memory/index.js";
import { sqliteStore } from "../../src/stores/sqlite/index.js";
import { cookiesOf, manualClock, withSid } from "../helpers/manager.js";
import { tempDir } from "../helpers/tmp.js";

// Two "processes": two stores on one SQLite file, each with its own manager and cache.
const dir = tempDir();
const path = join(dir, "cache.sqlite");
const clock = manualClock();
const storeA = sqliteStore({ path, pollIntervalMs: 20 });
const storeB = sqliteStore({ path, pollIntervalMs: 20 });
const common = { strategy: "id" as const, clock: clock.now, cleanup: false as const };
const a = createSessionManager({ ...common, store: storeA, cache: { maxAge: "5s" } });
const b = createSessionManager({ ...common, store: storeB, cache: { maxAge: "5s" } });
afterAll(async () => {
  a.close();
  b.close();
  await storeA.close();
  await storeB.close();
});

const waitFor = async (check: () => Promise<boolean>, ms = 2000) => {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return false;
};

describe("local read cache over a shared store", () => {
  it("serves repeated requests from the cache: the store is not read again", async () => {
    const { token, session } = await a.create({ userId: "cached" });
    expect((await a.authenticate(withSid(token))).session?.id).toBe(session.id);
    // Remove the row behind the cache's back (no feed message): the cache still answers,
    // which proves the second read did not go to the store.
    const raw = (await import("better-sqlite3")).default;
    const db = new raw(path);
    db.prepare("DELETE FROM sessionkit_sessions WHERE id = ?").run(session.id);
    db.close();
    expect((await a.authenticate(withSid(token))).session?.id).toBe(session.id);
    // ...and never longer than maxAge.
    clock.advance(5000);
    expect((await a.authenticate(withSid(token))).session).toBeNull();
  });

  it("drops a session revoked in this process at once", async () => {
    const { token, session } = await a.create({ userId: "u1" });
    expect((await a.authenticate(withSid(token))).session).not.toBeNull();
    await a.revoke(session.id);
    expect((await a.authenticate(withSid(token))).session).toBeNull();
  });

  it("drops a session revoked by another process as soon as the change feed carries it", async () => {
    const { token, session } = await a.create({ userId: "u2" });
    expect((await a.authenticate(withSid(token))).session).not.toBeNull();
    const started = Date.now();
    expect(await b.revoke(session.id)).toBe(true);
    const dropped = await waitFor(
      async () => (await a.authenticate(withSid(token))).session === null,
    );
    expect(dropped).toBe(true);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it("accepts a token renewed by another process although its cached record predates it", async () => {
    const { token } = await a.create({ userId: "u3" });
    expect((await a.authenticate(withSid(token))).session).not.toBeNull();
    clock.advance(1);
    // Force a renewal in B: a manager there with a tiny renewal time.
    const renewer = createSessionManager({ ...common, store: storeB, lifetimes: { renewal: 1 } });
    const renewed = cookiesOf((await renewer.authenticate(withSid(token))).headers).get(
      "__Host-sid",
    );
    renewer.close();
    expect(renewed).toMatch(/\./);
    expect((await a.authenticate(withSid(renewed ?? ""))).session).not.toBeNull();
  });
});

describe("local read cache: only what the store says now", () => {
  it("refuses a cached session once a touch finds it gone from the store", async () => {
    // touchEvery is idle/10 = 30 s, inside the cache's 1-minute maxAge.
    const touching: Omit<SessionManagerOptions, "store"> = {
      ...common,
      lifetimes: { idle: "5m" },
      cache: { maxAge: "1m" },
    };
    const writer = createSessionManager({ ...touching, store: storeA });
    const reader = createSessionManager({ ...touching, store: storeB });
    const { token, session } = await writer.create({ userId: "gone-behind-cache" });
    expect((await reader.authenticate(withSid(token))).session).not.toBeNull();
    // Gone without a feed message (as when one is lost): the cache alone cannot know.
    const raw = (await import("better-sqlite3")).default;
    const db = new raw(path);
    db.prepare("DELETE FROM sessionkit_sessions WHERE id = ?").run(session.id);
    db.close();
    clock.advance(30_000);
    const touched = await reader.authenticate(withSid(token));
    expect(touched.session).toBeNull();
    expect(touched.failure?.reason).toBe("unknown_session");
    writer.close();
    reader.close();
  });

  it("does not cache a record read before a revocation that arrived while the read was under way", async () => {
    const store = memoryStore();
    let hold: Promise<void> | null = null;
    let reads = 0;
    // The same store, with a read that can be held after the store answered: the reply of a
    // read overtaken by the revocation's feed message.
    const slow: SessionStore = {
      ...store,
      async get(id, now) {
        const record = await store.get(id, now);
        reads++;
        if (hold) await hold;
        return record;
      },
    };
    const writer = createSessionManager({ ...common, store });
    const reader = createSessionManager({ ...common, store: slow, cache: { maxAge: "1m" } });
    const { token, session } = await writer.create({ userId: "overtaken" });
    let release = () => {};
    hold = new Promise((resolve) => {
      release = resolve;
    });
    const inFlight = reader.authenticate(withSid(token));
    while (reads === 0) await new Promise((resolve) => setImmediate(resolve));
    expect(await writer.revoke(session.id)).toBe(true);
    hold = null;
    release();
    await inFlight; // read before the revocation: this one request may still pass
    expect((await reader.authenticate(withSid(token))).session).toBeNull();
    writer.close();
    reader.close();
  });
});
