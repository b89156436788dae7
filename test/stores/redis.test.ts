import { randomBytes } from "node:crypto";
import { createClient } from "redis";
import { afterAll, describe, expect, it } from "vitest";
import { createSessionManager } from "../../src/index.js";
import { redisStore } from "../../src/stores/redis/index.js";
import { EPOCH, pack, unpack } from "../../src/stores/redis/record.js";
import { makeBinding } from "../../src/testing/binding-conformance.js";
import { runStoreConformance } from "../../src/testing/index.js";
import { deleteRedisKeys } from "../helpers/backends.js";
import { tcpProxy } from "../helpers/proxy.js";
import { serviceAvailable } from "../helpers/services.js";

// The machine's Redis (127.0.0.1:6379), reached through a local TCP proxy for the outage test.
const available = await serviceAvailable("Redis", 6379);
const prefix = `sktest${randomBytes(4).toString("hex")}:`;
const proxy = available ? await tcpProxy(6379) : null;
const url = (port: number) => `redis://127.0.0.1:${port}`;

afterAll(async () => {
  if (!available) return;
  await deleteRedisKeys(prefix);
  await proxy?.close();
});

if (available && proxy) {
  runStoreConformance("redis", {
    create: () => redisStore({ url: url(proxy.port), prefix, commandTimeoutMs: 500 }),
    peer: () => redisStore({ url: url(6379), prefix }),
    expiry: "ttl",
    outage: () => ({
      async begin() {
        proxy.cut();
      },
      async end() {
        proxy.restore();
        await new Promise((resolve) => setTimeout(resolve, 300)); // node-redis reconnects by itself
      },
    }),
  });

  describe("redis store specifics", () => {
    it("keeps a session, its user's index and the id's tag in one hash slot", async () => {
      const store = redisStore({ url: url(6379), prefix });
      const manager = createSessionManager({ strategy: "id", store, cleanup: false });
      const { session } = await manager.create({ userId: "slot-user" });
      const c = createClient({ url: url(6379) });
      await c.connect();
      const keys: string[] = [];
      for await (const batch of c.scanIterator({ MATCH: `${prefix}*slot-user*`, COUNT: 1000 }))
        keys.push(...batch);
      const recordKey = `${prefix}{${session.id.slice(0, 4)}}${session.id.slice(4)}`;
      expect(await c.exists(recordKey)).toBe(1);
      keys.push(recordKey);
      const slots = await Promise.all(
        keys.map((k) => c.sendCommand(["CLUSTER", "KEYSLOT", k]).catch(() => null)),
      );
      const tags = keys.map((k) => /\{([^}]*)\}/.exec(k)?.[1]);
      expect(keys).toHaveLength(2);
      expect(new Set(tags).size).toBe(1);
      expect(session.id.slice(0, 4)).toBe(tags[0]);
      // CLUSTER KEYSLOT answers on a non-cluster server too; where it does, both slots agree.
      if (slots.every((s) => s !== null)) expect(new Set(slots).size).toBe(1);
      await c.quit();
      manager.close();
      await store.close();
    });
  });
}

describe("redis record format", () => {
  const base = {
    id: "AAAAbbbbccccddddeeeeff",
    userId: "u-1",
    strategy: "hybrid" as const,
    secretHash: "h".repeat(43),
    previousSecretHash: "p".repeat(43),
    previousValidUntil: 1_700_000_010_000,
    successor: "sealed",
    createdAt: 1_700_000_000_000,
    lastActiveAt: 1_700_000_005_000,
    renewedAt: 1_700_000_004_000,
    authTime: 1_699_999_000_000,
    expiresAt: 1_700_001_800_000,
    absoluteExpiresAt: 1_700_604_800_000,
    ip: "2001:db8::1",
    data: { cart: [1, 2], note: 'é/"' },
    version: 3,
    binding: null,
  };

  it.each([
    [
      "a browser's",
      "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    ],
    ["a short", "curl/8.5.0"],
    ["a marked", "~not compressed"],
    ["a non-ASCII", "Navigateur/1.0 (système; ünïcode) 🚀"],
    ["an empty", ""],
    ["no", null],
  ])("round-trips every field with %s user agent", (_, userAgent) => {
    const record = { ...base, userAgent };
    expect(unpack(record.id, pack(record))).toEqual(record);
  });

  it("round-trips a binding exactly, and costs an unbound session no byte", () => {
    const userAgent = "curl/8.5.0";
    for (const binding of [makeBinding(), "", "0", "null"]) {
      const record = { ...base, userAgent, binding };
      expect(unpack(record.id, pack(record))).toEqual(record);
    }
    const unbound = pack({ ...base, userAgent });
    expect(JSON.parse(unbound)).toHaveLength(16);
    expect(unbound).not.toMatch(/null/);
  });

  it("reads a record written before bindings existed as unbound", () => {
    // As the previous version of pack() wrote it (16 fields; the scripts re-encode the same).
    const old = '["u-1","i","hash",0,0,0,3600000,5,5,0,1800000,43200000,0,0,"{\\"a\\":1}",2]';
    expect(unpack("AAAAid", old)).toEqual({
      id: "AAAAid",
      userId: "u-1",
      strategy: "id",
      secretHash: "hash",
      previousSecretHash: null,
      previousValidUntil: null,
      successor: null,
      createdAt: EPOCH + 3_600_000,
      lastActiveAt: EPOCH + 3_600_005,
      renewedAt: EPOCH + 3_600_005,
      authTime: EPOCH + 3_600_000,
      expiresAt: EPOCH + 5_400_000,
      absoluteExpiresAt: EPOCH + 46_800_000,
      ip: null,
      userAgent: null,
      data: { a: 1 },
      version: 2,
      binding: null,
    });
  });

  it("keeps a browser's 120-byte user agent in a fraction of its size", () => {
    const ua =
      "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.";
    expect(ua).toHaveLength(120);
    const packed = pack({ ...base, userAgent: ua });
    const without = pack({ ...base, userAgent: null });
    expect(packed.length - without.length).toBeLessThan(40);
    expect(unpack(base.id, packed).userAgent).toBe(ua);
  });
});

// Redis Cluster: .ci/run starts three masters and names them in SESSIONKIT_TEST_REDIS_CLUSTER
// (`.ci/redis-cluster.sh start DIR` does it by hand). Without it, these tests are skipped with
// one line, except under CI=true, where a missing cluster is a failure.
const clusterNodes = process.env.SESSIONKIT_TEST_REDIS_CLUSTER;
if (!clusterNodes) {
  if (process.env.CI)
    throw new Error(
      "SESSIONKIT_TEST_REDIS_CLUSTER is not set, and CI requires the Redis Cluster tests",
    );
  console.warn("skipping Redis Cluster tests: SESSIONKIT_TEST_REDIS_CLUSTER names no cluster");
} else {
  const clusterUrl = `redis-cluster://${clusterNodes}`;
  const clusterPrefix = `skc${randomBytes(4).toString("hex")}:`;
  runStoreConformance("redis cluster", {
    create: () => redisStore({ url: clusterUrl, prefix: clusterPrefix }),
    peer: () => redisStore({ url: clusterUrl, prefix: clusterPrefix }),
    expiry: "ttl",
  });
}
