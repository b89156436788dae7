import { randomUUID } from "node:crypto";
import Database from "better-sqlite3";
import { SessionError } from "../errors.js";
import { isUsername, type User, type UserStore } from "./users.js";

// Its own module (as users-postgres.ts is): the server loads it only for a SQLite user table,
// so that a server on PostgreSQL needs no better-sqlite3.

interface Row {
  id: string;
  username: string;
  password_hash: string;
  created_at: number;
}

const toUser = (row: Row): User => ({
  id: row.id,
  username: row.username,
  passwordHash: row.password_hash,
  createdAt: row.created_at,
});

/** The demo's user table, kept in the same SQLite file as the sessions by default. */
export function sqliteUsers(path: string): UserStore {
  const db = new Database(path);
  db.pragma("journal_mode = WAL");
  db.pragma("busy_timeout = 5000");
  db.exec(`CREATE TABLE IF NOT EXISTS sessionkit_users (
    id TEXT PRIMARY KEY,
    username TEXT NOT NULL UNIQUE COLLATE NOCASE,
    password_hash TEXT NOT NULL,
    created_at INTEGER NOT NULL
  )`);
  const insert = db.prepare(
    "INSERT INTO sessionkit_users VALUES (?, ?, ?, ?) ON CONFLICT (username) DO NOTHING RETURNING *",
  );
  const byName = db.prepare("SELECT * FROM sessionkit_users WHERE username = ?");
  const byId = db.prepare("SELECT * FROM sessionkit_users WHERE id = ?");
  const guard = <T>(run: () => T): T => {
    try {
      return run();
    } catch (error) {
      throw new SessionError("STORE_UNAVAILABLE", "user database unavailable", { cause: error });
    }
  };
  return {
    async create(username, passwordHash, now) {
      const row = guard(
        () => insert.get(randomUUID(), username, passwordHash, now) as Row | undefined,
      );
      return row ? toUser(row) : null;
    },
    async byUsername(username) {
      if (!isUsername(username)) return null;
      const row = guard(() => byName.get(username) as Row | undefined);
      return row ? toUser(row) : null;
    },
    async byId(id) {
      const row = guard(() => byId.get(id) as Row | undefined);
      return row ? toUser(row) : null;
    },
    close() {
      if (db.open) db.close();
    },
  };
}
