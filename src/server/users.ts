import { randomUUID } from "node:crypto";
import Database from "better-sqlite3";
import { SessionError } from "../errors.js";

export interface User {
  id: string;
  username: string;
  passwordHash: string;
  createdAt: number;
}

export interface UserStore {
  /** Returns `null` when the username is taken (case-insensitively). */
  create(username: string, passwordHash: string, now: number): Promise<User | null>;
  /** `null` for an unknown name, and for any text that is not a valid username. */
  byUsername(username: string): Promise<User | null>;
  byId(id: string): Promise<User | null>;
  close(): void;
}

/**
 * ASCII only: both user tables compare names without regard to ASCII case (SQLite NOCASE,
 * PostgreSQL lower()), and PostgreSQL's lower() would also fold non-ASCII look-alikes such as
 * "alİce" onto "alice". A name outside this pattern is never registered and never looked up.
 */
const USERNAME = /^[A-Za-z0-9_.-]{3,64}$/;

export const isUsername = (value: unknown): value is string =>
  typeof value === "string" && USERNAME.test(value);

/**
 * The key of a sign-in name for the failure counter: one per account however the name is
 * spelled. Registered names are ASCII, so case is the only variation the tables allow; other
 * spellings (accents, look-alikes) are refused, yet still count against the account they
 * imitate, so that trying them gains nothing.
 */
export function usernameKey(name: string): string {
  return name.normalize("NFKD").replace(/\p{M}/gu, "").toLowerCase();
}

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
