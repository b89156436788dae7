import { randomBytes } from "node:crypto";
import { createClient } from "redis6";
import { afterAll, describe } from "vitest";
import { redisStore } from "../../src/stores/redis/index.js";
import { runStoreConformance } from "../../src/testing/index.js";
import { deleteRedisKeys, REDIS_URL } from "../helpers/backends.js";
import { serviceAvailable } from "../helpers/services.js";

// node-redis 6 (what `npm install redis` gives today) as the caller's client: the whole store
// conformance suite, so that the peer range can name it.
const up = await serviceAvailable("Redis", 6379);
const prefix = `skr6${randomBytes(4).toString("hex")}:`;
const client = createClient({ url: REDIS_URL });
const peerClient = createClient({ url: REDIS_URL });
client.on("error", () => {});
peerClient.on("error", () => {});
if (up) await Promise.all([client.connect(), peerClient.connect()]);

afterAll(async () => {
  if (!up) return;
  client.destroy();
  peerClient.destroy();
  await deleteRedisKeys(prefix);
});

describe.skipIf(!up)("redis store on a caller's node-redis 6 client", () => {
  runStoreConformance("redis (node-redis 6 client)", {
    create: () => redisStore({ client, prefix, commandTimeoutMs: 500 }),
    peer: () => redisStore({ client: peerClient, prefix }),
    expiry: "ttl",
  });
});
