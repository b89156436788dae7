import { randomBytes } from "node:crypto";
import { createClient, createCluster, RESP_TYPES } from "redis";
import { afterAll, describe, expect, it } from "vitest";
import { redisStore } from "../../src/stores/redis/index.js";
import { runStoreConformance } from "../../src/testing/index.js";
import { deleteRedisKeys, REDIS_URL } from "../helpers/backends.js";
import { tcpProxy } from "../helpers/proxy.js";
import { serviceAvailable } from "../helpers/services.js";

// The Redis store on a node-redis client or cluster of the caller's (issue 13): the same
// conformance suite as on a URL, outage included. The caller opens and closes its client; the
// suite closes the store, which leaves the client open.
const up = await serviceAvailable("Redis", 6379);
const prefix = `skcl${randomBytes(4).toString("hex")}:`;
const proxy = up ? await tcpProxy(6379) : null;
// Node-redis's defaults (offline queue, its own reconnection), as an application has them.
const client = createClient({ url: `redis://127.0.0.1:${proxy?.port ?? 0}` });
client.on("error", () => {});
const peerClient = createClient({ url: REDIS_URL });
if (up) await Promise.all([client.connect(), peerClient.connect()]);

afterAll(async () => {
  if (!up) return;
  // Still open after the suite closed its stores: the client is the caller's.
  expect(client.isReady).toBe(true);
  client.destroy();
  peerClient.destroy();
  await deleteRedisKeys(prefix);
  await proxy?.close();
});

describe.skipIf(!up)("redis store on a caller's node-redis client", () => {
  runStoreConformance("redis (node-redis client)", {
    create: () => redisStore({ client, prefix, commandTimeoutMs: 500 }),
    peer: () => redisStore({ client: peerClient, prefix }),
    expiry: "ttl",
    outage: () => ({
      async begin() {
        proxy?.cut();
      },
      async end() {
        proxy?.restore();
        await new Promise((resolve) => setTimeout(resolve, 300)); // the client reconnects by itself
      },
    }),
  });

  it("keeps working on the client after another store on it is closed", async () => {
    const first = redisStore({ client: peerClient, prefix });
    const second = redisStore({ client: peerClient, prefix });
    await first.ping();
    await first.close();
    await second.ping();
    await second.close();
  });
});

// A client speaking RESP3, with a type mapping of its own: the store's commands use their own
// options, so replies reach it as strings whatever the client maps them to.
describe.skipIf(!up)("redis store on a caller's RESP3 client", () => {
  const resp3 = createClient({
    url: REDIS_URL,
    RESP: 3,
    commandOptions: { typeMapping: { [RESP_TYPES.BLOB_STRING]: Buffer } },
  });
  afterAll(() => resp3.destroy());
  runStoreConformance("redis (node-redis client, RESP3)", {
    create: () => redisStore({ client: resp3, prefix }),
    peer: () => redisStore({ client: peerClient, prefix }),
    expiry: "ttl",
  });
});

// Redis Cluster: `.ci/redis-cluster.sh start DIR` prints the nodes for
// SESSIONKIT_TEST_REDIS_CLUSTER; without it these tests are skipped, except under CI=true.
const clusterNodes = process.env.SESSIONKIT_TEST_REDIS_CLUSTER;
if (!clusterNodes && process.env.CI)
  throw new Error(
    "SESSIONKIT_TEST_REDIS_CLUSTER is not set, and CI requires the Redis Cluster tests",
  );
const clusterReason = clusterNodes
  ? ""
  : " (skipped: SESSIONKIT_TEST_REDIS_CLUSTER names no cluster)";

describe.skipIf(!clusterNodes)(
  `redis store on a caller's node-redis cluster${clusterReason}`,
  () => {
    const rootNodes = (clusterNodes ?? "").split(",").map((node) => ({ url: `redis://${node}` }));
    const clusterPrefix = `skclc${randomBytes(4).toString("hex")}:`;
    const cluster = createCluster({ rootNodes });
    const peerCluster = createCluster({ rootNodes });
    for (const c of [cluster, peerCluster]) c.on("error", () => {});
    afterAll(async () => {
      // The store opened them (they were not open yet); closing them is the caller's.
      expect(cluster.isOpen).toBe(true);
      cluster.destroy();
      peerCluster.destroy();
    });

    runStoreConformance("redis cluster (node-redis cluster)", {
      create: () => redisStore({ client: cluster, prefix: clusterPrefix }),
      peer: () => redisStore({ client: peerCluster, prefix: clusterPrefix }),
      expiry: "ttl",
    });
  },
);
