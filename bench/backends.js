// The benchmark's reach into the machine's PostgreSQL and Redis (127.0.0.1 only): whether
// each answers, and removing what a run left there.
import { connect } from "node:net";

export const POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/test";
export const REDIS_URL = "redis://127.0.0.1:6379";

export const reachable = (port) =>
  new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    socket.setTimeout(500, () => {
      socket.destroy();
      resolve(false);
    });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });

/** Redis targets of this run: the machine's Redis, and a Cluster named by the test variable. */
export async function redisTargets() {
  const targets = [];
  if (await reachable(6379)) targets.push({ backend: "redis", url: REDIS_URL });
  const nodes = process.env.SESSIONKIT_TEST_REDIS_CLUSTER;
  if (nodes) targets.push({ backend: "redis-cluster", url: `redis-cluster://${nodes}`, nodes });
  return targets;
}

export async function dropPostgresTables(prefix) {
  const { default: pg } = await import("pg");
  const c = new pg.Client({ connectionString: POSTGRES_URL });
  await c.connect();
  for (const table of ["sessions", "changes", "schema"])
    await c.query(`DROP TABLE IF EXISTS ${prefix}${table}`);
  await c.end();
}

/** Deletes the keys matching `pattern` on one server, or on every master of a Cluster. */
export async function deleteRedisKeys(target, pattern) {
  const { createClient } = await import("redis");
  const urls = target.nodes
    ? target.nodes.split(",").map((node) => `redis://${node}`)
    : [target.url];
  for (const url of urls) {
    const c = createClient({ url });
    await c.connect();
    // One key per command: a Cluster node refuses keys of several slots in one UNLINK.
    for await (const keys of c.scanIterator({ MATCH: pattern, COUNT: 1000 }))
      await Promise.all(keys.map((key) => c.unlink(key).catch(() => {})));
    await c.quit();
  }
}
