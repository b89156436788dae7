import type { SessionStore } from "../index.js";
import { ConfigError } from "./config.js";

/**
 * Opens the store a `--store`/`--database` value names: `memory`, `sqlite` (the SQLite file
 * at `sqlitePath`), or a `postgres://` URL. Drivers load only when named, so a user without
 * `pg` installed is never asked for it unless they choose PostgreSQL.
 */
export async function openStore(spec: string, sqlitePath: string): Promise<SessionStore> {
  if (spec === "memory") {
    const { memoryStore } = await import("../stores/memory/index.js");
    return memoryStore();
  }
  if (spec === "sqlite") {
    const { sqliteStore } = await import("../stores/sqlite/index.js");
    return sqliteStore({ path: sqlitePath });
  }
  if (/^postgres(ql)?:\/\//.test(spec)) {
    let module: typeof import("../stores/postgres/index.js");
    try {
      module = await import("../stores/postgres/index.js");
    } catch {
      throw new ConfigError("--store: PostgreSQL needs the `pg` package (npm install pg)");
    }
    // Table prefix: lets several deployments (or test runs) share one database.
    const tablePrefix = process.env.SESSIONKIT_TABLE_PREFIX;
    return module.postgresStore({
      connectionString: spec,
      ...(tablePrefix ? { tablePrefix } : {}),
    });
  }
  if (/^(rediss?|redis-cluster):\/\//.test(spec)) {
    let module: typeof import("../stores/redis/index.js");
    try {
      module = await import("../stores/redis/index.js");
    } catch {
      throw new ConfigError("--store: Redis needs the `redis` package (npm install redis)");
    }
    const prefix = process.env.SESSIONKIT_TABLE_PREFIX;
    return module.redisStore({ url: spec, ...(prefix ? { prefix } : {}) });
  }
  throw new ConfigError(
    `--store: "${spec}" is not one of sqlite, memory, postgres://…, redis://…, redis-cluster://…`,
  );
}

export const isStoreSpec = (value: string) =>
  value === "memory" ||
  value === "sqlite" ||
  /^(postgres(ql)?|rediss?|redis-cluster):\/\//.test(value);
