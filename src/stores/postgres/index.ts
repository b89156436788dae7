import { randomUUID } from "node:crypto";
import pg from "pg";
import { configError } from "../../errors.js";
import { announce, changeOf } from "../change.js";
import { LocalFeed, REVOCATION_MARGIN_MS, subscribeFollowing } from "../feed.js";
import { byAge } from "../order.js";
import type { RevocationReason, SessionStore, StoredSession, UpdateResult } from "../types.js";
import { postgresConnection } from "./connection.js";
import { createListener, type Notice } from "./listen.js";
import { fromRow, insertSession, type Row } from "./rows.js";
import { PREFIX_PATTERN } from "./schema.js";

export type { SessionStore } from "../types.js";

export interface PostgresStoreOptions {
  /** `postgres://user@host:port/database`, or a pool of your own (then `close` leaves it open). */
  connectionString?: string;
  pool?: pg.Pool;
  /** Table names start with this. Default `"sessionkit_"`. */
  tablePrefix?: string;
  /** How long a query may wait for a connection before failing with STORE_UNAVAILABLE. */
  connectTimeoutMs?: number;
  /**
   * A call that has not answered by then fails with STORE_UNAVAILABLE, and the connection it
   * waited on is destroyed; also the deadline of the change feed's heartbeat. Default 2000 ms.
   */
  commandTimeoutMs?: number;
}

/**
 * PostgreSQL store: every change is one statement or one transaction; per-user changes take a
 * transaction-scoped advisory lock on the user so that concurrent sign-ins evict correctly;
 * revocations are logged and announced with NOTIFY in the transaction that commits them.
 *
 * @example
 * ```ts
 * import pg from "pg";
 * import { createSessionManager } from "sessionkit";
 * import { postgresStore } from "sessionkit/stores/postgres";
 *
 * const store = postgresStore({
 *   connectionString: process.env.DATABASE_URL, // postgres://user@host:5432/database
 *   commandTimeoutMs: 1000,
 * });
 * // or a pool of your own, which the store leaves open when it closes:
 * const onMyPool = postgresStore({ pool: new pg.Pool({ max: 10 }), tablePrefix: "myapp_" });
 * const sessions = createSessionManager({
 *   strategy: "id",
 *   store,
 *   csrf: { origins: ["https://app.example"] },
 * });
 * ```
 */
export function postgresStore(options: PostgresStoreOptions): SessionStore {
  const prefix = options.tablePrefix ?? "sessionkit_";
  if (!PREFIX_PATTERN.test(prefix))
    throw configError("postgres: tablePrefix must be a plain lowercase identifier");
  if (!options.pool && !options.connectionString)
    throw configError("postgres: connectionString or pool is required");
  const timeout = options.commandTimeoutMs ?? 2000;
  if (!Number.isFinite(timeout) || timeout <= 0)
    throw configError("postgres: commandTimeoutMs must be a positive number of milliseconds");
  const ownPool = !options.pool;
  const connectionTimeoutMillis = options.connectTimeoutMs ?? 2000;
  const pool =
    options.pool ??
    new pg.Pool({ connectionString: options.connectionString, connectionTimeoutMillis, max: 10 });
  // An idle client that loses its connection emits here; without a listener it would crash.
  pool.on("error", () => {});
  const S = `${prefix}sessions`;
  const C = `${prefix}changes`;
  const channel = `${prefix}revocations`;
  const origin = randomUUID();
  const feed = new LocalFeed();
  const { guard, query, transaction } = postgresConnection(pool, prefix, timeout);

  /** Logs revocations and NOTIFYs them, inside the caller's transaction. */
  const logRevocations = async (
    q: pg.PoolClient,
    records: StoredSession[],
    reason: RevocationReason,
  ) => {
    for (const r of records) {
      const { rows: logged } = await q.query<{ seq: string }>(
        `INSERT INTO ${C} (id, user_id, strategy, expires_at, reason, origin) VALUES ($1, $2, $3, $4, $5, $6) RETURNING seq`,
        [r.id, r.userId, r.strategy, r.expiresAt, reason, origin],
      );
      const notice: Notice = { seq: Number(logged[0]?.seq ?? 0), ...changeOf(r, reason), origin };
      await q.query("SELECT pg_notify($1, $2)", [channel, JSON.stringify(notice)]);
    }
  };

  const listener = createListener({
    // A dedicated connection: LISTEN holds it for as long as anyone subscribes.
    connect: () =>
      new pg.Client(
        options.pool
          ? options.pool.options
          : { connectionString: options.connectionString, connectionTimeoutMillis },
      ),
    channel,
    changesTable: C,
    feed,
    ensureSchema: () => guard(async () => {}),
    timeoutMs: timeout,
  });

  /** Deletes with `sql` in a transaction, logs what went, and announces it once committed. */
  const revoke = async (
    sql: string,
    values: unknown[],
    reason: RevocationReason,
    lockUser?: string,
  ): Promise<StoredSession[]> => {
    const gone = await transaction(async (q) => {
      const records = (await q.query<Row>(sql, values)).rows.map(fromRow);
      await logRevocations(q, records, reason);
      return records;
    }, lockUser);
    announce(feed, gone, reason);
    return gone;
  };

  async function get(id: string, now: number): Promise<StoredSession | null> {
    const { rows } = await query<Row>(`SELECT * FROM ${S} WHERE id = $1 AND expires_at > $2`, [
      id,
      now,
    ]);
    return rows[0] ? fromRow(rows[0]) : null;
  }

  return {
    name: "postgres",

    async create(record, opts) {
      const evicted = await transaction(async (q) => {
        const insert = insertSession(S, record);
        await q.query(insert.text, insert.values);
        if (opts.maxSessionsPerUser === undefined) return [];
        await q.query(
          `DELETE FROM ${S} WHERE user_id = $1 AND strategy = $2 AND expires_at <= $3`,
          [record.userId, record.strategy, opts.now],
        );
        // The new row is never a candidate (a createdAt tie would order it by its random id):
        // the others keep their newest cap - 1.
        const { rows } = await q.query<Row>(
          `DELETE FROM ${S} WHERE id IN (
             SELECT id FROM ${S} WHERE user_id = $1 AND strategy = $2 AND id <> $4
             ORDER BY created_at DESC, id DESC OFFSET $3
           ) RETURNING *`,
          [record.userId, record.strategy, opts.maxSessionsPerUser - 1, record.id],
        );
        const records = rows.map(fromRow).sort(byAge);
        await logRevocations(q, records, "evicted");
        return records;
      }, record.userId);
      announce(feed, evicted, "evicted");
      return { evicted };
    },

    get,

    async touch(id, input) {
      const result = await query(
        `UPDATE ${S} SET last_active_at = GREATEST(last_active_at, $2),
             expires_at = LEAST(GREATEST(expires_at, $3), absolute_expires_at)
           WHERE id = $1 AND expires_at > $4`,
        [id, input.lastActiveAt, input.expiresAt, input.now],
      );
      return (result.rowCount ?? 0) > 0;
    },

    async update(id, input): Promise<UpdateResult> {
      const { rows } = await query<Row>(
        `UPDATE ${S} SET data = $2, version = version + 1
           WHERE id = $1 AND expires_at > $3 AND version = $4 RETURNING *`,
        [id, JSON.stringify(input.data), input.now, input.expectedVersion],
      );
      if (rows[0]) return { status: "updated", record: fromRow(rows[0]) };
      const current = await get(id, input.now);
      return current ? { status: "conflict", record: current } : { status: "missing" };
    },

    async rotate(id, input) {
      const { rows } = await query<Row>(
        `UPDATE ${S} SET previous_secret_hash = $8, previous_valid_until = $5,
             secret_hash = $3, successor = $4, renewed_at = $2,
             expires_at = LEAST(COALESCE($6, expires_at), absolute_expires_at)
           WHERE id = $1 AND expires_at > $2 AND secret_hash = $7 RETURNING *`,
        [
          id,
          input.now,
          input.secretHash,
          input.successor,
          input.graceUntil,
          input.expiresAt ?? null,
          input.expectedSecretHash,
          input.previousSecretHash,
        ],
      );
      return rows[0] ? fromRow(rows[0]) : null;
    },

    async bind(id, binding, now) {
      // A concurrent bind that commits first makes this one re-check `binding IS NULL` on the
      // row it wrote, and change nothing: one winner.
      const result = await query(
        `UPDATE ${S} SET binding = $2 WHERE id = $1 AND expires_at > $3 AND binding IS NULL`,
        [id, binding, now],
      );
      if ((result.rowCount ?? 0) > 0) return "bound";
      // Not bound by this call: either bound already, or gone. A record deleted between the
      // two statements reads as missing, which it then is.
      const { rows } = await query(`SELECT 1 FROM ${S} WHERE id = $1 AND expires_at > $2`, [
        id,
        now,
      ]);
      return rows.length > 0 ? "conflict" : "missing";
    },

    async delete(id, reason) {
      const [gone] = await revoke(`DELETE FROM ${S} WHERE id = $1 RETURNING *`, [id], reason);
      return gone ?? null;
    },

    async deleteUser(userId, opts) {
      return revoke(
        `DELETE FROM ${S} WHERE user_id = $1 AND ($2::text IS NULL OR strategy = $2) AND ($3::text IS NULL OR id <> $3)
         RETURNING *`,
        [userId, opts.strategy ?? null, opts.except ?? null],
        opts.reason,
        userId,
      );
    },

    async listUser(userId, now) {
      const { rows } = await query<Row>(
        `SELECT * FROM ${S} WHERE user_id = $1 AND expires_at > $2 ORDER BY created_at, id`,
        [userId, now],
      );
      return rows.map(fromRow);
    },

    async deleteExpired(now, limit) {
      const batch = Math.max(0, Math.floor(limit));
      const { rows } = await query<Row>(
        `DELETE FROM ${S} WHERE id IN (SELECT id FROM ${S} WHERE expires_at <= $1 LIMIT $2) RETURNING *`,
        [now, batch],
      );
      // Log entries matter only while a token of the session they name could still verify.
      await query(
        `DELETE FROM ${C} WHERE seq IN (SELECT seq FROM ${C} WHERE expires_at <= $1 LIMIT $2)`,
        [now - REVOCATION_MARGIN_MS, batch],
      );
      return rows.map(fromRow);
    },

    subscribe: subscribeFollowing(feed, listener),

    feedLag: () => listener.lag(),

    async ping() {
      await query("SELECT 1");
    },

    async close() {
      listener.stop();
      if (ownPool) await pool.end().catch(() => {});
    },
  };
}
