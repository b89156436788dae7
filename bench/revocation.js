// Revocation propagation: two store instances on one backend (each as another process would
// open it, each with its own manager); revoke through one, time until the other's jwt
// verification refuses the token. 200 revocations; p50 and p99. SQLite by default;
// PostgreSQL and Redis when given (they are the feeds of LISTEN/NOTIFY and pub/sub).
import { createSessionManager } from "../dist/index.js";
import { sqliteStore } from "../dist/stores/sqlite/index.js";
import { generateKeySet } from "../dist/tokens/index.js";
import {
  deleteRedisKeys,
  dropPostgresTables,
  POSTGRES_URL,
  reachable,
  redisTargets,
} from "./backends.js";
import { tempSqlitePath } from "./servers/common.js";

export async function runRevocation({
  count = 200,
  pollIntervalMs = 50,
  backend = "sqlite",
  open,
} = {}) {
  const path = tempSqlitePath();
  const makeStore = open ?? (() => sqliteStore({ path, pollIntervalMs }));
  const keys = generateKeySet("HS256", "rev");
  const options = {
    strategy: "jwt",
    keys,
    issuer: "https://bench.example",
    audience: "bench",
    cleanup: false,
  };
  const storeA = await makeStore();
  const storeB = await makeStore();
  const a = createSessionManager({ ...options, store: storeA });
  const b = createSessionManager({ ...options, store: storeB });
  // As the reference server does before it listens: both feeds current (a feed that has not
  // caught up yet makes the jwt verifier fail closed, which is not what is timed here).
  await feedsCurrent([storeA, storeB], backend);
  const delays = [];
  for (let i = 0; i < count; i++) {
    const { token, session } = await a.create({ userId: `u${i % 20}` });
    const request = { method: "GET", headers: new Headers({ authorization: `Bearer ${token}` }) };
    const before = await b.authenticate(request);
    if (!before.session) {
      throw new Error(
        `${backend}: token ${i} not accepted before its revocation (${before.failure?.reason})`,
      );
    }
    // Revoke at a random moment of the poll cycle, not in step with it.
    await new Promise((resolve) => setTimeout(resolve, Math.random() * pollIntervalMs));
    const start = performance.now();
    await a.revoke(session.id);
    while ((await b.authenticate(request)).session)
      await new Promise((resolve) => setTimeout(resolve, 1));
    delays.push(performance.now() - start);
  }
  a.close();
  b.close();
  await storeA.close();
  await storeB.close();
  delays.sort((x, y) => x - y);
  const at = (q) =>
    +(delays[Math.min(delays.length - 1, Math.floor(q * delays.length))] ?? 0).toFixed(1);
  return {
    store: backend,
    ...(open ? {} : { pollIntervalMs }),
    count,
    p50ms: at(0.5),
    p99ms: at(0.99),
    maxms: +(delays.at(-1) ?? 0).toFixed(1),
  };
}

/** Waits (at most 10 s) until each store's change feed is within the managers' max lag. */
async function feedsCurrent(stores, backend, maxLagMs = 5000) {
  const deadline = Date.now() + 10_000;
  while (stores.some((store) => (store.feedLag?.() ?? 0) > maxLagMs)) {
    if (Date.now() > deadline)
      throw new Error(`${backend}: the change feed is not current after 10 s`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** SQLite always; PostgreSQL, Redis and a Redis Cluster (SESSIONKIT_TEST_REDIS_CLUSTER) when reachable. */
export async function runRevocations() {
  const results = [await runRevocation()];
  const tag = `skbenchrev${Date.now().toString(36)}`;
  if (await reachable(5432)) {
    const { postgresStore } = await import("../dist/stores/postgres/index.js");
    results.push(
      await runRevocation({
        backend: "postgres",
        open: () => postgresStore({ connectionString: POSTGRES_URL, tablePrefix: `${tag}_` }),
      }),
    );
    await dropPostgresTables(`${tag}_`);
  }
  const { redisStore } = await import("../dist/stores/redis/index.js");
  for (const target of await redisTargets()) {
    results.push(
      await runRevocation({
        backend: target.backend,
        open: () => redisStore({ url: target.url, prefix: `${tag}:` }),
      }),
    );
    await deleteRedisKeys(target, `${tag}:*`);
  }
  return results;
}
