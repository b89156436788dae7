import { existsSync } from "node:fs";
import { isPostgresUrl } from "../server/config.js";
import { loadDriver } from "../server/stores.js";
import { isUsername } from "../server/users.js";

export interface KnownUser {
  id: string;
  username: string;
}

/**
 * The reference server's user that `value` names (a username, case-insensitively, or a user
 * id) in its user table at `database`, where `serve` keeps it. Read only: a database without
 * the table (an application's own) is left as it is, and its users are `null` here.
 */
export async function findUser(database: string, value: string): Promise<KnownUser | null> {
  if (isPostgresUrl(database)) return findInPostgres(database, value);
  if (database === ":memory:" || !existsSync(database)) return null;
  const { default: Database } = await loadDriver(
    () => import("better-sqlite3"),
    "SQLite",
    "better-sqlite3",
    "--database",
  );
  const db = new Database(database, { readonly: true, fileMustExist: true });
  try {
    const table = db
      .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sessionkit_users'")
      .get();
    if (!table) return null;
    // The column is COLLATE NOCASE, as sign-in compares names.
    const byName = isUsername(value)
      ? db.prepare("SELECT id, username FROM sessionkit_users WHERE username = ?").get(value)
      : undefined;
    const row =
      byName ?? db.prepare("SELECT id, username FROM sessionkit_users WHERE id = ?").get(value);
    return (row as KnownUser | undefined) ?? null;
  } finally {
    db.close();
  }
}

async function findInPostgres(url: string, value: string): Promise<KnownUser | null> {
  // PostgreSQL text holds no NUL: such a value can be no one's id or name.
  if (value.includes("\0")) return null;
  const { default: pg } = await loadDriver(() => import("pg"), "PostgreSQL", "pg", "--database");
  // The prefix and the table as `serve` names them.
  const table = `${process.env.SESSIONKIT_TABLE_PREFIX ?? "sessionkit_"}users`;
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    const exists = await client.query("SELECT to_regclass($1) AS t", [table]);
    if (!exists.rows[0]?.t) return null;
    const query = (where: string) =>
      client.query<KnownUser>(`SELECT id, username FROM ${table} WHERE ${where}`, [value]);
    const byName = isUsername(value) ? await query("lower(username) = lower($1)") : null;
    return byName?.rows[0] ?? (await query("id = $1")).rows[0] ?? null;
  } finally {
    await client.end();
  }
}
