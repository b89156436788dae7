/**
 * What migrations use of a better-sqlite3 `Database`. Structural, so that the published types
 * name no better-sqlite3 type (they would need `@types/better-sqlite3`, which users need not
 * install); a better-sqlite3 `Database` is one.
 */
export interface SqliteDatabase {
  exec(source: string): unknown;
  pragma(source: string, options?: { simple?: boolean }): unknown;
  transaction(fn: () => void): { immediate(): void };
}

/**
 * Schema migrations, applied in order and recorded in `PRAGMA user_version`, each inside one
 * transaction so that two processes starting at once cannot both apply the same step.
 */
const MIGRATIONS: string[] = [
  `CREATE TABLE IF NOT EXISTS sessionkit_sessions (
     id TEXT PRIMARY KEY,
     user_id TEXT NOT NULL,
     strategy TEXT NOT NULL,
     secret_hash TEXT,
     previous_secret_hash TEXT,
     previous_valid_until INTEGER,
     successor TEXT,
     created_at INTEGER NOT NULL,
     last_active_at INTEGER NOT NULL,
     renewed_at INTEGER NOT NULL,
     auth_time INTEGER NOT NULL,
     expires_at INTEGER NOT NULL,
     absolute_expires_at INTEGER NOT NULL,
     ip TEXT,
     user_agent TEXT,
     data TEXT NOT NULL,
     version INTEGER NOT NULL
   ) WITHOUT ROWID;
   CREATE INDEX IF NOT EXISTS sessionkit_sessions_user
     ON sessionkit_sessions (user_id, created_at);
   CREATE INDEX IF NOT EXISTS sessionkit_sessions_expiry
     ON sessionkit_sessions (expires_at);`,
  // 2: the revocation log that other processes poll (their change feed).
  `CREATE TABLE IF NOT EXISTS sessionkit_changes (
     seq INTEGER PRIMARY KEY AUTOINCREMENT,
     id TEXT NOT NULL,
     user_id TEXT NOT NULL,
     strategy TEXT NOT NULL,
     expires_at INTEGER NOT NULL,
     reason TEXT NOT NULL,
     origin TEXT NOT NULL
   );
   CREATE INDEX IF NOT EXISTS sessionkit_changes_expiry
     ON sessionkit_changes (expires_at);`,
  // 3: the key a session is bound to (DPoP, DBSC); existing sessions stay unbound.
  "ALTER TABLE sessionkit_sessions ADD COLUMN binding TEXT;",
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/**
 * Brings the database to the current schema; returns the versions it applied.
 *
 * @example
 * ```ts
 * import Database from "better-sqlite3";
 * import { migrateSqlite } from "sessionkit/stores/sqlite";
 *
 * // What `sessionkit migrate --database data/sessions.db` does; sqliteStore() migrates too.
 * const applied = migrateSqlite(new Database("data/sessions.db"));
 * console.log(applied.length ? `applied ${applied.join(", ")}` : "up to date");
 * ```
 */
export function migrate(db: SqliteDatabase): number[] {
  const applied: number[] = [];
  const step = db.transaction(() => {
    const current = db.pragma("user_version", { simple: true }) as number;
    if (current > SCHEMA_VERSION) {
      throw new Error(
        `database schema version ${current} is newer than this sessionkit (${SCHEMA_VERSION})`,
      );
    }
    for (let version = current; version < SCHEMA_VERSION; version++) {
      db.exec(MIGRATIONS[version] ?? "");
      applied.push(version + 1);
    }
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
  });
  step.immediate();
  return applied;
}
