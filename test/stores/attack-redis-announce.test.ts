import { randomBytes } from "node:crypto";
import { createClient } from "redis";
import { afterAll, describe, expect, it } from "vitest";
import type { SessionStore, StoredSession } from "../../src/index.js";
import { redisStore } from "../../src/stores/redis/index.js";
import { deleteRedisKeys } from "../helpers/backends.js";
import { interceptProxy } from "../helpers/intercept.js";
import { recordFor } from "../helpers/records.js";
import { serviceAvailable } from "../helpers/services.js";

/**
 * Adversarial tests of "revocations are announced (log, then live) before the records are
 * deleted" (Redis): whatever interleaves with delete, deleteUser and evictions past the cap,
 * every record that is gone and was not left to expire has a log entry whose expiresAt covers
 * the record's final expiry; nothing created after the listing is deleted; the cap keeps the
 * newest sessions.
 */
const up = await serviceAvailable("Redis", 6379);
const clusterAddr = process.env.SESSIONKIT_TEST_REDIS_CLUSTER;
const prefix = `ara${randomBytes(3).toString("hex")}:`;
afterAll(async () => {
  if (up) await deleteRedisKeys(prefix);
});

const rec = (store: SessionStore, userId: string, now: number, ttl = 60_000) =>
  recordFor(store, userId, now, { strategy: "jwt", expiresAt: now + ttl });

/** The revocation log: id -> the largest expiresAt announced for it. */
async function logged(raw: ReturnType<typeof createClient>, p: string) {
  const out = new Map<string, number>();
  for (const e of await raw.xRange(`${p}{rev}:log`, "-", "+")) {
    const c = JSON.parse(e.message.c ?? "{}") as { id: string; expiresAt: number };
    out.set(c.id, Math.max(c.expiresAt, out.get(c.id) ?? 0));
  }
  return out;
}

function suite(name: string, url: string, rawUrl: string | undefined) {
  describe(`${name}: announce, then delete`, () => {
    const p = `${prefix}${name}:`;
    const a = redisStore({ url, prefix: p });
    const b = redisStore({ url, prefix: p });
    const raw = rawUrl
      ? createClient({ url: rawUrl })
      : (createClient({
          url: `redis://${url.slice("redis-cluster://".length).split(",")[0]}`,
        }) as ReturnType<typeof createClient>);
    afterAll(async () => {
      await a.close();
      await b.close();
      if (raw.isOpen) await raw.quit();
      if (!rawUrl) await cleanCluster(url, p);
    });
    const logOf = async () => {
      if (!raw.isOpen) await raw.connect();
      if (rawUrl) return logged(raw, p);
      // Cluster: the log lives in the {rev} slot; read it through a cluster client.
      const { createCluster } = await import("redis");
      const c = createCluster({
        rootNodes: url
          .slice("redis-cluster://".length)
          .split(",")
          .map((n) => ({ url: `redis://${n}` })),
      });
      await c.connect();
      try {
        return await logged(c as unknown as ReturnType<typeof createClient>, p);
      } finally {
        await c.quit();
      }
    };

    it("races of create (cap), delete, deleteUser and touch on one user: the cap keeps the newest, nothing is deleted unannounced or announced short of its final expiry", async () => {
      for (let round = 0; round < 25; round++) {
        const user = `u${round}-${randomBytes(3).toString("hex")}`;
        const cap = 2;
        const base = Date.now();
        const made: StoredSession[] = [];
        for (let i = 0; i < 3; i++) {
          const r = rec(a, user, base + i);
          made.push(r);
          await a.create(r, { now: base });
        }
        const fresh = [0, 1, 2, 3].map((i) => rec(b, user, base + 10 + i));
        made.push(...fresh);
        const touched = new Map<string, number>();
        const selfEvicted: string[] = [];
        const ops: Array<() => Promise<unknown>> = [
          ...fresh.map((r, i) => async () => {
            const store = i % 2 ? a : b;
            const { evicted } = await store.create(r, { now: base + 10, maxSessionsPerUser: cap });
            if (evicted.some((e) => e.id === r.id)) selfEvicted.push(r.id);
          }),
          ...made.map((r, i) => async () => {
            const to = base + 120_000 + i * 1000;
            const ok = await (i % 2 ? b : a).touch(r.id, {
              now: base + 20,
              lastActiveAt: base + 20,
              expiresAt: to,
            });
            if (ok) touched.set(r.id, to);
          }),
        ];
        const revoking = round % 3 === 0;
        const victim = made[round % made.length];
        if (revoking && victim) ops.push(() => a.delete(victim.id, "revoked"));
        // shuffle
        for (let i = ops.length - 1; i > 0; i--) {
          const j = Math.floor(Math.random() * (i + 1));
          const [x, y] = [ops[i], ops[j]];
          if (x && y) [ops[i], ops[j]] = [y, x];
        }
        await Promise.all(ops.map((op) => op()));
        const log = await logOf();
        const left = (await a.listUser(user, Date.now())).map((r) => r.id);
        for (const r of made) {
          const now = await a.get(r.id, Date.now());
          if (now) continue;
          // gone: it must have been announced, with an expiry at least its last one
          const announced = log.get(r.id);
          expect(announced, `${r.id} deleted unannounced`).toBeDefined();
          // a touch that succeeded slid it before it went: the announcement covers that expiry
          expect(announced ?? 0).toBeGreaterThanOrEqual(touched.get(r.id) ?? r.expiresAt);
        }
        expect(selfEvicted, "a create evicted the session it created").toEqual([]);
        if (!revoking) {
          // Exactly cap left, all fresh: the newest by createdAt (never the oldest of anyone's
          // snapshot) and the one whose create ran last (never evicted by its own creation).
          const newest = fresh.at(-1)?.id;
          expect(left.length).toBe(cap);
          expect(left).toContain(newest);
          expect(fresh.map((r) => r.id)).toEqual(expect.arrayContaining(left));
        } else {
          expect(left.length).toBeGreaterThanOrEqual(cap - 1);
        }
      }
    });

    it("deleteUser racing sign-ins: what it returns was announced, every record left is one it did not return", async () => {
      for (let round = 0; round < 20; round++) {
        const user = `d${round}-${randomBytes(3).toString("hex")}`;
        const now = Date.now();
        for (let i = 0; i < 3; i++) await a.create(rec(a, user, now + i), { now });
        const later = [0, 1, 2].map((i) => rec(b, user, now + 10 + i));
        const [gone] = await Promise.all([
          b.deleteUser(user, { reason: "revoked-user" }),
          ...later.map((r) => a.create(r, { now })),
        ]);
        const log = await logOf();
        const goneIds = new Set((gone as StoredSession[]).map((r) => r.id));
        for (const id of goneIds) expect(log.has(id)).toBe(true);
        for (const r of await a.listUser(user, Date.now())) expect(goneIds.has(r.id)).toBe(false);
        // sign-ins either survive or were announced
        for (const r of later) {
          if (!(await a.get(r.id, Date.now()))) expect(log.has(r.id)).toBe(true);
        }
      }
    });

    it("delete of a session whose user index is gone: still announced and deleted", async () => {
      const now = Date.now();
      const r = rec(a, "orphan", now);
      await a.create(r, { now });
      if (!raw.isOpen) await raw.connect();
      // the index key shares the record's slot; delete it through a store-agnostic path
      const { redisKeys } = await import("../../src/stores/redis/keys.js");
      const idx = redisKeys(p).index("orphan");
      if (rawUrl) await raw.del(idx);
      else {
        const { createCluster } = await import("redis");
        const c = createCluster({
          rootNodes: url
            .slice("redis-cluster://".length)
            .split(",")
            .map((n) => ({ url: `redis://${n}` })),
        });
        await c.connect();
        await c.del(idx);
        await c.quit();
      }
      const gone = await b.delete(r.id, "revoked");
      expect(gone?.id).toBe(r.id);
      expect(await a.get(r.id, now)).toBeNull();
      expect((await logOf()).get(r.id)).toBe(r.expiresAt);
    });
  });
}

async function cleanCluster(url: string, p: string) {
  const { createCluster } = await import("redis");
  const c = createCluster({
    rootNodes: url
      .slice("redis-cluster://".length)
      .split(",")
      .map((n) => ({ url: `redis://${n}` })),
  });
  await c.connect();
  for (const m of c.masters) {
    const node = await c.nodeClient(m);
    for await (const keys of node.scanIterator({ MATCH: `${p}*`, COUNT: 1000 })) {
      for (const k of keys) await c.del(k);
    }
  }
  await c.quit();
}

if (up) {
  suite("single", "redis://127.0.0.1:6379", "redis://127.0.0.1:6379");

  describe("single: a record that slides between the announcement and the deletion", () => {
    const p = `${prefix}slide:`;
    it("is announced again with its final expiry", async () => {
      const direct = redisStore({ url: "redis://127.0.0.1:6379", prefix: p });
      const raw = createClient({ url: "redis://127.0.0.1:6379" });
      await raw.connect();
      const now = Date.now();
      const r = rec(direct, "slider", now);
      await direct.create(r, { now });
      let slid = false;
      const proxy = await interceptProxy(6379, async (dir, chunk) => {
        if (dir === "up" && !slid && chunk.includes("XADD")) {
          slid = true; // between the announcement's start and the deletion
          await direct.touch(r.id, { now, lastActiveAt: now, expiresAt: now + 300_000 });
        }
        return "pass";
      });
      const store = redisStore({ url: `redis://127.0.0.1:${proxy.port}`, prefix: p });
      try {
        const gone = await store.delete(r.id, "revoked");
        expect(slid).toBe(true);
        expect(gone?.expiresAt).toBe(now + 300_000);
        expect((await logged(raw, p)).get(r.id)).toBe(now + 300_000);
      } finally {
        await store.close();
        await direct.close();
        await proxy.close();
        await raw.quit();
        await deleteRedisKeys(p);
      }
    });
  });
}
if (up && clusterAddr) suite("cluster", `redis-cluster://${clusterAddr}`, undefined);
