import pg from "pg";
import { createClient } from "redis";

export const POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/test";
export const REDIS_URL = "redis://127.0.0.1:6379";

/** Drops the tables a PostgreSQL store (and the server's users) made under `prefix`. */
export async function dropPostgresTables(prefix: string, url = POSTGRES_URL): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  for (const table of ["sessions", "changes", "schema", "users"])
    await c.query(`DROP TABLE IF EXISTS ${prefix}${table}`);
  await c.end();
}

/** Deletes the keys a Redis store made under `prefix` (clean-up may scan; the store never does). */
export async function deleteRedisKeys(prefix: string, url = REDIS_URL): Promise<void> {
  const c = createClient({ url });
  await c.connect();
  for await (const keys of c.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) {
    if (keys.length > 0) await c.del(keys);
  }
  await c.quit();
}
