import { randomBytes } from "node:crypto";
import { createClient } from "redis";
import { afterAll, describe, expect, it } from "vitest";
import { createSessionManager } from "../src/index.js";
import { redisStore } from "../src/stores/redis/index.js";
import { runStoreConformance } from "../src/testing/index.js";
import { deleteRedisKeys } from "./helpers/backends.js";
import { tcpProxy } from "./helpers/proxy.js";
import { serviceAvailable } from "./helpers/services.js";

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
      for await (const batch of c.scanIterator({ MATCH: `${prefix}*${session.id}`, COUNT: 1000 }))
        keys.push(...batch);
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
