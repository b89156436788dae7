import { randomBytes } from "node:crypto";
import { join } from "node:path";
import Database from "better-sqlite3";
import { createClient } from "redis";
import { afterAll, describe, expect, it } from "vitest";
import type { SessionStore } from "../../src/index.js";
import { postgresStore } from "../../src/stores/postgres/index.js";
import { redisStore } from "../../src/stores/redis/index.js";
import { sqliteStore } from "../../src/stores/sqlite/index.js";
import { deleteRedisKeys, dropPostgresTables } from "../helpers/backends.js";
import { freePort } from "../helpers/free-port.js";
import { tcpProxy } from "../helpers/proxy.js";
import { recordFor } from "../helpers/records.js";
import { serviceAvailable } from "../helpers/services.js";
import {
  everyStoreCall,
  expectEveryCallUnavailable,
  expectRecovery,
  outcome,
} from "../helpers/store-calls.js";
import { tempDir } from "../helpers/tmp.js";

// Issue 13: a store created while its backend was down left `get()` pending for more than 10 s.
// Every call of every network store must answer STORE_UNAVAILABLE within the store's bound,
// whether the backend refuses connections (a closed port, a cut), accepts them and never
// answers (a black hole), or goes away mid-run, and the store must recover by itself once the
// backend is reachable again. The backends are real; only the network in between is cut.
const redisUp = await serviceAvailable("Redis", 6379);
const postgresUp = await serviceAvailable("PostgreSQL", 5432);
const BOUND = 500;
const tag = randomBytes(4).toString("hex");
const redisPrefix = `ff${tag}:`;
const pgPrefix = `sk_ff_${tag}_`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A store on `port` of 127.0.0.1, and what closes it (and a caller's client, if any). */
type Make = (port: number) => Promise<{ store: SessionStore; close(): Promise<void> }>;

const ownClose = (store: SessionStore) => ({ store, close: () => store.close() });

/** Each store, on its own: made from a URL, or from a client of the caller's. */
const backends: Array<{ name: string; up: boolean; target: number; make: Make }> = [
  {
    name: "redis (url)",
    up: redisUp,
    target: 6379,
    make: async (port) =>
      ownClose(
        redisStore({
          url: `redis://127.0.0.1:${port}`,
          prefix: redisPrefix,
          commandTimeoutMs: BOUND,
        }),
      ),
  },
  {
    // node-redis's defaults: offline queue on, reconnection forever. The store opens the
    // client on first use; the caller closes it.
    name: "redis (a node-redis client of the caller's, default options)",
    up: redisUp,
    target: 6379,
    make: async (port) => {
      const client = createClient({ url: `redis://127.0.0.1:${port}` });
      client.on("error", () => {});
      const store = redisStore({ client, prefix: redisPrefix, commandTimeoutMs: BOUND });
      return {
        store,
        async close() {
          await store.close();
          if (client.isOpen) client.destroy();
        },
      };
    },
  },
  {
    name: "postgres",
    up: postgresUp,
    target: 5432,
    make: async (port) =>
      ownClose(
        postgresStore({
          connectionString: `postgres://postgres@127.0.0.1:${port}/test`,
          tablePrefix: pgPrefix,
          commandTimeoutMs: BOUND,
        }),
      ),
  },
];

afterAll(async () => {
  if (redisUp) await deleteRedisKeys(redisPrefix);
  if (postgresUp) await dropPostgresTables(pgPrefix);
});

const user = () => `ff-${randomBytes(6).toString("hex")}`;

for (const backend of backends) {
  describe.skipIf(!backend.up)(`${backend.name}: every call answers within its bound`, () => {
    it("on a closed port, from the start", async () => {
      const { store, close } = await backend.make(await freePort());
      try {
        await expectEveryCallUnavailable(store, user(), BOUND);
        await sleep(300); // into the client's reconnection attempts
        await expectEveryCallUnavailable(store, user(), BOUND);
      } finally {
        await close();
      }
    });

    for (const fault of ["cut", "blackhole"] as const) {
      it(`behind a ${fault} from the start, then recovers when the network is back`, async () => {
        const proxy = await tcpProxy(backend.target);
        proxy[fault]();
        const { store, close } = await backend.make(proxy.port);
        try {
          await expectEveryCallUnavailable(store, user(), BOUND);
          await sleep(300);
          await expectEveryCallUnavailable(store, user(), BOUND);
          proxy.restore();
          await expectRecovery(store, user());
        } finally {
          await close();
          await proxy.close();
        }
      });

      it(`through a ${fault} mid-run, then recovers when the network is back`, async () => {
        const proxy = await tcpProxy(backend.target);
        const { store, close } = await backend.make(proxy.port);
        try {
          await expectRecovery(store, user()); // working, connected
          proxy[fault]();
          await expectEveryCallUnavailable(store, user(), BOUND);
          await sleep(300);
          await expectEveryCallUnavailable(store, user(), BOUND);
          proxy.restore();
          await expectRecovery(store, user());
        } finally {
          await close();
          await proxy.close();
        }
      });
    }
  });
}

describe.skipIf(!redisUp)("redis: the default bound, and a caller's client", () => {
  it("answers within 2 s by default, on a closed port and behind a black hole", async () => {
    const proxy = await tcpProxy(6379);
    proxy.blackhole();
    const stores = [
      redisStore({ url: `redis://127.0.0.1:${await freePort()}`, prefix: redisPrefix }),
      redisStore({ url: `redis://127.0.0.1:${proxy.port}`, prefix: redisPrefix }),
    ];
    try {
      for (const store of stores) {
        const { result, ms } = await outcome(() => store.get("AAAAAAAAAAAAAAAAAAAAAA", 0), 8000);
        expect(result).toBe("STORE_UNAVAILABLE");
        expect(ms).toBeGreaterThanOrEqual(1900);
        expect(ms).toBeLessThan(2400);
      }
    } finally {
      for (const store of stores) await store.close();
      await proxy.close();
    }
  });

  it("never runs a call it answered STORE_UNAVAILABLE for, though the caller's client queues offline", async () => {
    const proxy = await tcpProxy(6379);
    const client = createClient({ url: `redis://127.0.0.1:${proxy.port}` });
    client.on("error", () => {});
    await client.connect();
    const store = redisStore({ client, prefix: redisPrefix, commandTimeoutMs: BOUND });
    const direct = redisStore({ url: "redis://127.0.0.1:6379", prefix: redisPrefix });
    try {
      const now = Date.now();
      const record = recordFor(direct, user(), now);
      await direct.create(record, { now });
      // The script known to the server (a version conflict changes nothing), so that no
      // NOSCRIPT round trip stops a late call before it writes.
      const update = (expectedVersion: number) => ({ now, expectedVersion, data: { v: "late" } });
      expect((await store.update(record.id, update(1))).status).toBe("conflict");
      // The connection drops, and the client's new one hangs in its handshake: not ready, so
      // the client queues what it is given until the network is back (checked by hand: it
      // runs then, without the store's abort at the deadline).
      proxy.cut();
      await expect.poll(() => client.isReady).toBe(false);
      proxy.restore();
      proxy.blackhole();
      await sleep(300);
      expect(client.isReady).toBe(false);
      await expect(store.update(record.id, update(0))).rejects.toMatchObject({
        code: "STORE_UNAVAILABLE",
      });
      proxy.restore();
      await expectRecovery(store, user());
      await sleep(200);
      expect((await direct.get(record.id, Date.now()))?.data).toEqual(record.data);
    } finally {
      await store.close();
      await direct.close();
      client.destroy();
      await proxy.close();
    }
  });

  // Known gap, not fixed here (issue 13 is about answering in time): a script already written
  // to a silent link when its call answers STORE_UNAVAILABLE still reaches Redis if the
  // partition heals while TCP retransmits, and runs late. Closing the socket at the deadline
  // would not help (the kernel still delivers what it had accepted); a fix would give each
  // write script its deadline and have it refuse past it (Redis TIME). Remove `.fails` then.
  it.fails("never applies a write answered STORE_UNAVAILABLE behind a black hole once it heals", async () => {
    const proxy = await tcpProxy(6379);
    const store = redisStore({
      url: `redis://127.0.0.1:${proxy.port}`,
      prefix: redisPrefix,
      commandTimeoutMs: BOUND,
    });
    const direct = redisStore({ url: "redis://127.0.0.1:6379", prefix: redisPrefix });
    try {
      const now = Date.now();
      const record = recordFor(direct, user(), now);
      await direct.create(record, { now });
      const update = (expectedVersion: number) => ({ now, expectedVersion, data: { v: "late" } });
      expect((await store.update(record.id, update(1))).status).toBe("conflict");
      proxy.blackhole();
      await expect(store.update(record.id, update(0))).rejects.toMatchObject({
        code: "STORE_UNAVAILABLE",
      });
      proxy.restore();
      await expectRecovery(store, user());
      expect((await direct.get(record.id, Date.now()))?.data).toEqual(record.data);
    } finally {
      await store.close();
      await direct.close();
      await proxy.close();
    }
  });

  it("opens a caller's client that is not open yet, and leaves it open when it closes", async () => {
    const client = createClient({ url: "redis://127.0.0.1:6379" });
    const store = redisStore({ client, prefix: redisPrefix });
    try {
      await store.ping();
      expect(client.isReady).toBe(true);
      await store.close();
      expect(await client.ping()).toBe("PONG");
    } finally {
      client.destroy();
    }
  });

  it("refuses what is not a node-redis 5 or 6 client, and a url and a client at once", async () => {
    const { Redis } = await import("ioredis");
    const ioredis = new Redis({ lazyConnect: true });
    expect(() =>
      // @ts-expect-error ioredis is not a node-redis client: refused at compile time too
      redisStore({ client: ioredis }),
    ).toThrow(/node-redis 5 or 6 client/);
    const client = createClient();
    expect(() =>
      // @ts-expect-error one or the other
      redisStore({ client, url: "redis://127.0.0.1:6379" }),
    ).toThrow(/not both/);
    // @ts-expect-error one of them is required
    expect(() => redisStore({})).toThrow(/url or client/);
    ioredis.disconnect();
  });
});

// SQLite has no network and answers synchronously: its only wait is for another process's
// write lock, bounded by `busyTimeoutMs` (reads go on under WAL).
describe("sqlite: every call answers within busyTimeoutMs while another process holds the lock", () => {
  it("answers each write STORE_UNAVAILABLE in time, each read with its result, and recovers", async () => {
    const path = join(tempDir(), "locked.sqlite");
    const store = sqliteStore({ path, busyTimeoutMs: BOUND });
    const holder = new Database(path);
    const reads = new Set(["get", "listUser"]);
    try {
      holder.exec("BEGIN IMMEDIATE");
      for (const [name, call] of Object.entries(everyStoreCall(store, user()))) {
        const { result, ms } = await outcome(call, BOUND * 4);
        expect(result, name).toBe(reads.has(name) ? "ok" : "STORE_UNAVAILABLE");
        expect(ms, name).toBeLessThan(BOUND + 400);
      }
      holder.exec("ROLLBACK");
      await expectRecovery(store, user());
    } finally {
      holder.close();
      await store.close();
    }
  });
});
