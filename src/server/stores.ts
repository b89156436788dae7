import { configError } from "../errors.js";
import type { SessionStore } from "../index.js";

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
    const module = await loadDriver(
      () => import("../stores/postgres/index.js"),
      "PostgreSQL",
      "pg",
    );
    // Table prefix: lets several deployments (or test runs) share one database.
    const tablePrefix = process.env.SESSIONKIT_TABLE_PREFIX;
    return module.postgresStore({
      connectionString: spec,
      ...(tablePrefix ? { tablePrefix } : {}),
    });
  }
  if (/^(rediss?|redis-cluster):\/\//.test(spec)) {
    const module = await loadDriver(() => import("../stores/redis/index.js"), "Redis", "redis");
    const prefix = process.env.SESSIONKIT_TABLE_PREFIX;
    return module.redisStore({ url: spec, ...(prefix ? { prefix } : {}) });
  }
  throw configError(
    `--store: "${spec}" is not one of sqlite, memory, postgres://…, redis://…, redis-cluster://…`,
  );
}

export const isStoreSpec = (value: string) =>
  value === "memory" ||
  value === "sqlite" ||
  /^(postgres(ql)?|rediss?|redis-cluster):\/\//.test(value);

/**
 * Loads a store whose driver is an optional peer. Only a missing package becomes the one-line
 * "install it" error; any other failure is a real error and surfaces as one.
 */
export async function loadDriver<T>(
  load: () => Promise<T>,
  backend: string,
  packageName: string,
  flag = "--store",
): Promise<T> {
  try {
    return await load();
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (
      code === "ERR_MODULE_NOT_FOUND" &&
      String((error as Error).message).includes(`'${packageName}'`)
    ) {
      throw configError(
        `${flag}: ${backend} needs the \`${packageName}\` package (npm install ${packageName})`,
      );
    }
    throw error;
  }
}
