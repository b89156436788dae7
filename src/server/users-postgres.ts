import { randomUUID } from "node:crypto";
import type pg from "pg";
import { SessionError } from "../errors.js";
import { isUsername, type User, type UserStore } from "./users.js";

interface Row {
  id: string;
  username: string;
  password_hash: string;
  created_at: string | number;
}

const toUser = (row: Row): User => ({
  id: row.id,
  username: row.username,
  passwordHash: row.password_hash,
  createdAt: Number(row.created_at),
});

/**
 * The demo's users in PostgreSQL (`--database postgres://…`), so that several server instances
 * share them. Usernames are unique case-insensitively, through a unique index on lower().
 */
export function postgresUsers(driver: typeof pg, url: string, tablePrefix: string): UserStore {
  const T = `${tablePrefix}users`;
  const pool = new driver.Pool({ connectionString: url, connectionTimeoutMillis: 2000, max: 5 });
  pool.on("error", () => {}); // an idle connection that drops; the next query reconnects
  let ready: Promise<unknown> | null = null;
  // Under a lock: instances starting together would otherwise race on CREATE TABLE.
  const createTable = async () => {
    const client = await pool.connect();
    try {
      await client.query(
        `BEGIN;
         SELECT pg_advisory_xact_lock(hashtext('${T}'));
         CREATE TABLE IF NOT EXISTS ${T} (
           id text PRIMARY KEY,
           username text NOT NULL,
           password_hash text NOT NULL,
           created_at bigint NOT NULL
         );
         CREATE UNIQUE INDEX IF NOT EXISTS ${T}_username ON ${T} (lower(username));
         COMMIT;`,
      );
    } catch (error) {
      await client.query("ROLLBACK").catch(() => {});
      throw error;
    } finally {
      client.release();
    }
  };
  const query = async (text: string, values: unknown[]): Promise<Row[]> => {
    try {
      ready ??= createTable().catch((error: unknown) => {
        ready = null; // retried by the next call
        throw error;
      });
      await ready;
      return (await pool.query<Row>(text, values)).rows;
    } catch (error) {
      throw new SessionError("STORE_UNAVAILABLE", "user database unavailable", { cause: error });
    }
  };
  return {
    async create(username, passwordHash, now) {
      const rows = await query(
        `INSERT INTO ${T} VALUES ($1, $2, $3, $4)
         ON CONFLICT ((lower(username))) DO NOTHING RETURNING *`,
        [randomUUID(), username, passwordHash, now],
      );
      return rows[0] ? toUser(rows[0]) : null;
    },
    async byUsername(username) {
      // Never sent: a NUL is an error in PostgreSQL text, and a look-alike would match by lower().
      if (!isUsername(username)) return null;
      const rows = await query(`SELECT * FROM ${T} WHERE lower(username) = lower($1)`, [username]);
      return rows[0] ? toUser(rows[0]) : null;
    },
    async byId(id) {
      const rows = await query(`SELECT * FROM ${T} WHERE id = $1`, [id]);
      return rows[0] ? toUser(rows[0]) : null;
    },
    close() {
      void pool.end().catch(() => {});
    },
  };
}
