import { randomUUID } from "node:crypto";
import pg from "pg";
import { configError, SessionError } from "../../errors.js";
import { LocalFeed, REVOCATION_MARGIN_MS } from "../feed.js";
import { announceRows, rowToSession, type SessionRow } from "../rows.js";
import type { RevocationReason, SessionStore, StoredSession, UpdateResult } from "../types.js";
import { destroyConnection, within } from "./deadline.js";
import { createListener } from "./listen.js";
import { migrations, PREFIX_PATTERN } from "./schema.js";

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

/** A row as `pg` returns it: jsonb arrives parsed. */
type Row = SessionRow<StoredSession["data"]>;
const fromRow = (row: Row): StoredSession => rowToSession(row, (data) => data);

// Connection-level failures: SQLSTATE class 08 (connection exception), 57P (shutdown), 53300
// (too many connections), and the errors of a socket that cannot reach the server.
const UNAVAILABLE_CODES = /^(08|57P|53300|ECONN|ETIMEDOUT|EPIPE|ENOTFOUND|EHOSTUNREACH|EAI_AGAIN)/;
const UNAVAILABLE_MESSAGES =
  /Connection terminated|timeout exceeded|Client has encountered a connection error|connection is closed|Cannot use a pool after calling end/i;

/**
 * PostgreSQL store: every change is one statement or one transaction; per-user changes take a
 * transaction-scoped advisory lock on the user so that concurrent sign-ins evict correctly;
 * revocations are logged and announced with NOTIFY in the transaction that commits them.
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
  let ready: Promise<void> | null = null;

  const guard = async <T>(operation: (deadlineAt: number) => Promise<T>): Promise<T> => {
    // One deadline for the whole call: a connection taken for it is destroyed when the call
    // answers, so a transaction cannot commit after its caller was told STORE_UNAVAILABLE.
    const deadlineAt = Date.now() + timeout;
    let late = false;
    try {
      // One deadline for the whole call, schema check included; each connection it used has
      // its own (`withClient`), which destroys it.
      return await within(
        (async () => {
          ready ??= migrate().catch((error: unknown) => {
            ready = null; // retried by the next call once the server is back
            throw error;
          });
          await ready;
          // A call that has answered STORE_UNAVAILABLE already must not start afterwards: a
          // revocation reported as failed would land after what followed it.
          if (late) throw new Error("gave up before the schema was ready");
          return await operation(deadlineAt);
        })(),
        timeout,
        () => {
          late = true;
        },
      );
    } catch (error) {
      const code = String((error as { code?: unknown }).code ?? "");
      const message = error instanceof Error ? error.message : String(error);
      if (UNAVAILABLE_CODES.test(code) || UNAVAILABLE_MESSAGES.test(message)) {
        throw new SessionError(
          "STORE_UNAVAILABLE",
          `postgres store unavailable: ${code || message}`,
          { cause: error },
        );
      }
      throw error;
    }
  };

  // A dropped connection is reported through the failing query; this listener, attached once
  // per client, keeps the same event from surfacing as an uncaught error, also when the
  // client emits it after it was released.
  const quieted = new WeakSet<pg.PoolClient>();
  const ignore = () => {};

  /**
   * Runs `work` on one pooled connection within the store's deadline. A connection that misses
   * it is destroyed and leaves the pool: a blackholed one would otherwise hang every query
   * sent on it, for as long as the link stays silent. A connection that arrives after the
   * deadline goes straight back.
   */
  const withClient = <T>(
    work: (client: pg.PoolClient) => Promise<T>,
    deadlineAt = Date.now() + timeout,
  ): Promise<T> => {
    const left = deadlineAt - Date.now();
    if (left <= 0) return Promise.reject(new Error(`no answer within ${timeout} ms`));
    let client: pg.PoolClient | null = null;
    let expired = false;
    const run = pool.connect().then(async (c) => {
      if (expired) {
        c.release();
        throw new Error("connection arrived after the deadline");
      }
      client = c;
      if (!quieted.has(c)) {
        c.on("error", ignore);
        quieted.add(c);
      }
      try {
        const result = await work(c);
        c.release();
        return result;
      } catch (error) {
        // A client whose connection failed is destroyed, not returned to the pool.
        c.release(error instanceof Error ? error : new Error(String(error)));
        throw error;
      }
    });
    return within(run, left, () => {
      expired = true;
      if (client) destroyConnection(client);
      run.catch(() => {});
    });
  };
  const query = <R extends pg.QueryResultRow>(text: string, values?: unknown[]) =>
    guard((deadlineAt) => withClient((c) => c.query<R>(text, values), deadlineAt));

  function migrate(): Promise<void> {
    return withClient(async (client) => {
      try {
        await client.query("BEGIN");
        await client.query("SELECT pg_advisory_xact_lock(hashtext($1))", [`${prefix}migrate`]);
        await client.query(`CREATE TABLE IF NOT EXISTS ${prefix}schema (version integer NOT NULL)`);
        const { rows } = await client.query<{ version: number }>(
          `SELECT version FROM ${prefix}schema`,
        );
        const current = rows[0]?.version ?? 0;
        const steps = migrations(prefix);
        if (current > steps.length)
          throw new Error(`postgres schema ${current} is newer than this sessionkit`);
        for (let v = current; v < steps.length; v++) await client.query(steps[v] ?? "");
        await client.query(`DELETE FROM ${prefix}schema`);
        await client.query(`INSERT INTO ${prefix}schema (version) VALUES ($1)`, [steps.length]);
        await client.query("COMMIT");
      } catch (error) {
        await client.query("ROLLBACK").catch(() => {});
        throw error;
      }
    });
  }

  /** Runs `work` in one transaction; optionally serialised per user by an advisory lock. */
  const transaction = <T>(work: (q: pg.PoolClient) => Promise<T>, lockUser?: string) =>
    guard((deadlineAt) =>
      withClient(async (client) => {
        try {
          await client.query("BEGIN");
          if (lockUser !== undefined)
            await client.query("SELECT pg_advisory_xact_lock(hashtext($1))", [
              `${prefix}u:${lockUser}`,
            ]);
          const result = await work(client);
          await client.query("COMMIT");
          return result;
        } catch (error) {
          await client.query("ROLLBACK").catch(() => {});
          throw error;
        }
      }, deadlineAt),
    );

  /** Logs revocations and NOTIFYs them, inside the caller's transaction. */
  const logRevocations = async (q: pg.PoolClient, rows: Row[], reason: RevocationReason) => {
    for (const r of rows) {
      const { rows: logged } = await q.query<{ seq: string }>(
        `INSERT INTO ${C} (id, user_id, strategy, expires_at, reason, origin) VALUES ($1, $2, $3, $4, $5, $6) RETURNING seq`,
        [r.id, r.user_id, r.strategy, r.expires_at, reason, origin],
      );
      const payload = {
        seq: Number(logged[0]?.seq ?? 0),
        id: r.id,
        userId: r.user_id,
        strategy: r.strategy,
        expiresAt: r.expires_at,
        reason,
        origin,
      };
      await q.query("SELECT pg_notify($1, $2)", [channel, JSON.stringify(payload)]);
    }
  };
  const announce = (rows: Row[], reason: RevocationReason) => announceRows(feed, rows, reason);

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

  const COLUMNS =
    "id, user_id, strategy, secret_hash, previous_secret_hash, previous_valid_until, successor, created_at, last_active_at, renewed_at, auth_time, expires_at, absolute_expires_at, ip, user_agent, data, version, binding";

  return {
    name: "postgres",

    async create(record, opts) {
      const evicted = await transaction(async (q) => {
        await q.query(
          `INSERT INTO ${S} (${COLUMNS}) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18)`,
          [
            record.id,
            record.userId,
            record.strategy,
            record.secretHash,
            record.previousSecretHash,
            record.previousValidUntil,
            record.successor,
            record.createdAt,
            record.lastActiveAt,
            record.renewedAt,
            record.authTime,
            record.expiresAt,
            record.absoluteExpiresAt,
            record.ip,
            record.userAgent,
            JSON.stringify(record.data),
            record.version,
            record.binding ?? null,
          ],
        );
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
        rows.sort((a, b) => a.created_at - b.created_at || (a.id < b.id ? -1 : 1));
        await logRevocations(q, rows, "evicted");
        return rows;
      }, record.userId);
      announce(evicted, "evicted");
      return { evicted: evicted.map(fromRow) };
    },

    async get(id, now) {
      const { rows } = await query<Row>(`SELECT * FROM ${S} WHERE id = $1 AND expires_at > $2`, [
        id,
        now,
      ]);
      return rows[0] ? fromRow(rows[0]) : null;
    },

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
      const current = await this.get(id, input.now);
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
      const rows = await transaction(async (q) => {
        const { rows: gone } = await q.query<Row>(`DELETE FROM ${S} WHERE id = $1 RETURNING *`, [
          id,
        ]);
        await logRevocations(q, gone, reason);
        return gone;
      });
      announce(rows, reason);
      return rows[0] ? fromRow(rows[0]) : null;
    },

    async deleteUser(userId, opts) {
      const rows = await transaction(async (q) => {
        const { rows: gone } = await q.query<Row>(
          `DELETE FROM ${S} WHERE user_id = $1 AND ($2::text IS NULL OR strategy = $2) AND ($3::text IS NULL OR id <> $3)
           RETURNING *`,
          [userId, opts.strategy ?? null, opts.except ?? null],
        );
        await logRevocations(q, gone, opts.reason);
        return gone;
      }, userId);
      announce(rows, opts.reason);
      return rows.map(fromRow);
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

    subscribe(listenerFn) {
      const unsubscribe = feed.subscribe(listenerFn);
      listener.start();
      return () => {
        unsubscribe();
        if (feed.size === 0) listener.stop();
      };
    },

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
