import { afterAll, describe, expect, it } from "vitest";
import type { SessionStore } from "../../src/index.js";
import { redisStore } from "../../src/stores/redis/index.js";
import { deleteRedisKeys } from "../helpers/backends.js";
import { tcpProxy } from "../helpers/proxy.js";
import { recordFor } from "../helpers/records.js";
import { serviceAvailable } from "../helpers/services.js";

const up = await serviceAvailable("Redis", 6379);
const prefix = `ro${process.pid}:`;
afterAll(() => (up ? deleteRedisKeys(prefix) : undefined));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const ID = "AAAAAAAAAAAAAAAAAAAAAA";
const sessionRecord = (store: SessionStore, userId: string, now: number) =>
  recordFor(store, userId, now);
/** Whether the store's feed reports itself current (lag 0) within `ms`. */
const currentWithin = async (store: SessionStore, ms: number) => {
  for (const deadline = Date.now() + ms; Date.now() < deadline; await sleep(10)) {
    if (store.feedLag?.() === 0) return true;
  }
  return false;
};

/**
 * A store behind its own TCP proxy, passed to `use`; the proxy, the subscription and the store
 * are undone afterwards whatever happens.
 */
async function behindProxy(
  use: (ctx: {
    store: SessionStore;
    proxy: Awaited<ReturnType<typeof tcpProxy>>;
    url: string;
  }) => Promise<void>,
) {
  const proxy = await tcpProxy(6379);
  const url = `redis://127.0.0.1:${proxy.port}`;
  const store = redisStore({ url, prefix, commandTimeoutMs: 500 });
  try {
    await use({ store, proxy, url });
  } finally {
    proxy.restore();
    await store.close().catch(() => {});
    await proxy.close();
  }
}

// Found by the model-based runs: through a server that accepts connections and drops them,
// node-redis retried without end and commands neither failed nor timed out.
describe.skipIf(!up)("Redis store behind a cut network", () => {
  it("answers STORE_UNAVAILABLE within its command timeout, connected before the cut or not", () =>
    behindProxy(async ({ store, proxy, url }) => {
      await store.ping();
      proxy.cut();
      const fresh = redisStore({ url, prefix, commandTimeoutMs: 500 });
      try {
        for (const s of [store, store, fresh]) {
          const started = Date.now();
          await expect(s.get(ID, Date.now())).rejects.toMatchObject({ code: "STORE_UNAVAILABLE" });
          expect(Date.now() - started).toBeLessThan(1500);
          await sleep(400); // into the client's reconnection attempts
        }
      } finally {
        await fresh.close().catch(() => {});
      }
    }));

  it("never runs a call that answered STORE_UNAVAILABLE once the network is back (found by the model-based soak)", () =>
    behindProxy(async ({ store, proxy }) => {
      // The store has made no connection yet: its first call waits for one, gives up at its
      // deadline, and must not run when the connection is finally made.
      proxy.cut();
      await expect(store.deleteUser("bob", { reason: "revoked-user" })).rejects.toMatchObject({
        code: "STORE_UNAVAILABLE",
      });
      const direct = redisStore({ url: "redis://127.0.0.1:6379", prefix, commandTimeoutMs: 500 });
      try {
        const now = Date.now();
        const record = sessionRecord(direct, "bob", now);
        await direct.create(record, { now });
        proxy.restore();
        await expect
          .poll(
            () =>
              store.ping().then(
                () => true,
                () => false,
              ),
            { timeout: 4000 },
          )
          .toBe(true);
        await sleep(200);
        expect(await direct.get(record.id, Date.now())).not.toBeNull();
      } finally {
        await direct.close();
      }
    }));

  it("never deletes a session whose revocation it could not announce (found by the Cluster history soak)", async () => {
    // A Redis user that may do everything but write the revocation log: the deletion's own
    // script runs, the announcement fails, as if the process died between the two.
    const admin = redisStore({ url: "redis://127.0.0.1:6379", prefix, commandTimeoutMs: 500 });
    const { createClient } = await import("redis");
    const control = await createClient({ url: "redis://127.0.0.1:6379" }).connect();
    const user = `sknoxadd${process.pid}`;
    await control.sendCommand([
      "ACL",
      "SETUSER",
      user,
      "on",
      "nopass",
      "~*",
      "&*",
      "+@all",
      "-xadd",
    ]);
    const crippled = redisStore({
      url: `redis://${user}:x@127.0.0.1:6379`,
      prefix,
      commandTimeoutMs: 500,
    });
    try {
      const now = Date.now();
      const one = sessionRecord(admin, "carol", now);
      const two = sessionRecord(admin, "carol", now + 1);
      await admin.create(one, { now });
      await admin.create(two, { now });
      await expect(crippled.deleteUser("carol", { reason: "revoked-user" })).rejects.toThrow();
      await expect(crippled.delete(one.id, "revoked")).rejects.toThrow();
      await expect(
        crippled.create(sessionRecord(admin, "carol", now + 2), { now, maxSessionsPerUser: 1 }),
      ).rejects.toThrow();
      // Unannounced, so still there: a later revocation finds them and announces them.
      expect(await admin.get(one.id, now)).not.toBeNull();
      expect(await admin.get(two.id, now)).not.toBeNull();
      const heard: string[] = [];
      const stop = admin.subscribe((change) => heard.push(change.id));
      const gone = await admin.deleteUser("carol", { reason: "revoked-user" });
      stop();
      expect(gone.map((r) => r.id).sort()).toEqual(expect.arrayContaining([one.id, two.id]));
      expect(heard).toEqual(expect.arrayContaining([one.id, two.id]));
    } finally {
      await crippled.close().catch(() => {});
      await admin.close();
      await control.sendCommand(["ACL", "DELUSER", user]);
      await control.quit();
    }
  });

  it("goes live after a cut that started before it subscribed (found by the model-based runs)", () =>
    behindProxy(async ({ store, proxy }) => {
      await store.ping();
      proxy.cut();
      const unsubscribe = store.subscribe(() => {});
      try {
        await sleep(700); // the first log read fails its deadline meanwhile
        expect(store.feedLag?.()).toBeGreaterThan(1000);
        proxy.restore();
        expect(await currentWithin(store, 4000)).toBe(true);
      } finally {
        unsubscribe();
      }
    }));

  it("goes live after a cut that fell as it was subscribing (found by the model-based soak)", async () => {
    for (const delay of [0, 2, 5, 10, 20]) {
      await behindProxy(async ({ store, proxy }) => {
        await store.ping();
        const unsubscribe = store.subscribe(() => {});
        try {
          await sleep(delay);
          proxy.cut();
          await sleep(600);
          proxy.restore();
          expect(await currentWithin(store, 4000), `cut ${delay} ms after subscribing`).toBe(true);
        } finally {
          unsubscribe();
        }
      });
    }
  });

  it("counts its feed's lag from the cut, not from its last log read, and is current again after", () =>
    behindProxy(async ({ store, proxy }) => {
      const unsubscribe = store.subscribe(() => {});
      try {
        for (let i = 0; i < 200 && (store.feedLag?.() ?? 0) > 0; i++) await sleep(10);
        await sleep(1200); // past one log read: live pub/sub keeps the lag at 0
        expect(store.feedLag?.()).toBe(0);
        proxy.cut();
        const cutAt = Date.now();
        await sleep(700);
        // A verifier with maxLag 1 s must fail closed 1 s after the cut, not 1 s after the
        // following log read.
        expect(store.feedLag?.()).toBeGreaterThanOrEqual(Date.now() - cutAt - 50);
        proxy.restore();
        expect(await currentWithin(store, 4000)).toBe(true);
      } finally {
        unsubscribe();
      }
    }));
});
