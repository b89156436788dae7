import { randomUUID } from "node:crypto";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { SessionError } from "../../errors.js";
import { importPeer } from "../../util/optional-peer.js";
import { announce } from "../change.js";
import { LocalFeed, REVOCATION_MARGIN_MS, subscribeFollowing } from "../feed.js";
import { logPoller } from "../poller.js";
import type { ChangeRow } from "../rows.js";
import type { RevocationReason, SessionStore, StrategyName, UpdateResult } from "../types.js";
import { prepareQueries } from "./queries.js";
import { fromRow, type Row, toRow } from "./rows.js";
import { migrate } from "./schema.js";

// better-sqlite3 is an optional peer dependency, loaded here rather than by a static import:
// without it, importing this entry point fails with one line saying what to install
// (CONFIG_INVALID), not with ERR_MODULE_NOT_FOUND. Importing it is the moment the user chose
// SQLite, hence at the top level.
const { default: Database } = await importPeer(
  () => import("better-sqlite3"),
  "better-sqlite3",
  "sessionkit/stores/sqlite",
);

export type { SessionStore } from "../types.js";
export { migrate as migrateSqlite, SCHEMA_VERSION, type SqliteDatabase } from "./schema.js";

export interface SqliteStoreOptions {
  /** Database file; created with its folder if missing. `":memory:"` for a private database. */
  path: string;
  /** How long a write waits for another process's lock before failing with STORE_UNAVAILABLE. */
  busyTimeoutMs?: number;
  /**
   * How often revocations made by other processes sharing the file are read from the
   * revocation log, while anyone is subscribed. Default 50 ms (one indexed read).
   */
  pollIntervalMs?: number;
}

const UNAVAILABLE = /^SQLITE_(BUSY|LOCKED|IOERR|CANTOPEN|FULL|READONLY|PROTOCOL|NOTADB|CORRUPT)/;

/**
 * SQLite store: WAL mode, so several processes on one host can share the file; every
 * multi-statement change runs in one `BEGIN IMMEDIATE` transaction.
 *
 * @example
 * ```ts
 * import { createSessionManager } from "sessionkit";
 * import { sqliteStore } from "sessionkit/stores/sqlite";
 *
 * const sessions = createSessionManager({
 *   strategy: "id",
 *   store: sqliteStore({ path: "data/sessions.db", busyTimeoutMs: 1000 }),
 *   csrf: { origins: ["https://app.example"] },
 * });
 * ```
 */
export function sqliteStore(options: SqliteStoreOptions): SessionStore {
  if (options.path !== ":memory:") mkdirSync(dirname(options.path), { recursive: true });
  const db = new Database(options.path);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = NORMAL"); // WAL + NORMAL: durable across process crashes
  db.pragma(`busy_timeout = ${Math.max(0, Math.floor(options.busyTimeoutMs ?? 5000))}`);
  migrate(db);
  const feed = new LocalFeed();
  const origin = randomUUID();

  const q = prepareQueries(db);

  // Inside the transaction that deletes: the log row commits with the deletion or not at all.
  const log = (rows: Row[], reason: RevocationReason) => {
    for (const r of rows)
      q.logChange.run(r.id, r.user_id, r.strategy, r.expires_at, reason, origin);
  };

  const createTx = db.transaction((row: Row, now: number, cap: number | undefined) => {
    q.insert.run(row);
    if (cap === undefined) return [];
    // The new row is never a candidate (a createdAt tie would order it by its random id).
    const others = (q.userAll.all(row.user_id) as Row[]).filter(
      (r) => r.strategy === row.strategy && r.id !== row.id,
    );
    const evicted: Row[] = [];
    const alive = others.filter((r) => r.expires_at > now);
    for (const r of others.filter((r) => r.expires_at <= now)) q.delete.run(r.id);
    for (const r of alive.slice(0, Math.max(0, alive.length - (cap - 1)))) {
      q.delete.run(r.id);
      evicted.push(r);
    }
    log(evicted, "evicted");
    return evicted;
  });

  const deleteTx = db.transaction((id: string, reason: RevocationReason) => {
    const row = q.delete.get(id) as Row | undefined;
    if (row) log([row], reason);
    return row;
  });

  const deleteUserTx = db.transaction(
    (userId: string, reason: RevocationReason, strategy?: StrategyName, except?: string) => {
      const doomed = (q.userAll.all(userId) as Row[]).filter(
        (r) => (strategy === undefined || r.strategy === strategy) && r.id !== except,
      );
      for (const r of doomed) q.delete.run(r.id);
      log(doomed, reason);
      return doomed;
    },
  );

  // The change feed across processes: what others logged, read while someone listens.
  const poller = logPoller({
    source: {
      replayFrom: (since) => Number(q.firstLiveSeq.get(since)),
      after: (seq) => q.changesAfter.all(seq) as ChangeRow[],
    },
    feed,
    origin,
    intervalMs: Math.max(5, options.pollIntervalMs ?? 50),
    isOpen: () => db.open,
  });

  return {
    name: "sqlite",

    async create(record, opts) {
      const evicted = guard(() =>
        createTx.immediate(toRow(record), opts.now, opts.maxSessionsPerUser),
      );
      const records = evicted.map(fromRow);
      announce(feed, records, "evicted");
      return { evicted: records };
    },

    async get(id, now) {
      const row = guard(() => q.get.get(id, now) as Row | undefined);
      return row ? fromRow(row) : null;
    },

    async touch(id, input) {
      return guard(() => q.touch.run({ id, ...input }).changes > 0);
    },

    async update(id, input): Promise<UpdateResult> {
      return guard(() => {
        const row = q.update.get({
          id,
          now: input.now,
          expectedVersion: input.expectedVersion,
          data: JSON.stringify(input.data),
        }) as Row | undefined;
        if (row) return { status: "updated", record: fromRow(row) };
        const current = q.get.get(id, input.now) as Row | undefined;
        return current ? { status: "conflict", record: fromRow(current) } : { status: "missing" };
      });
    },

    async rotate(id, input) {
      const row = guard(
        () =>
          q.rotate.get({
            id,
            now: input.now,
            expectedSecretHash: input.expectedSecretHash,
            previousSecretHash: input.previousSecretHash,
            secretHash: input.secretHash,
            successor: input.successor,
            graceUntil: input.graceUntil,
            expiresAt: input.expiresAt ?? null,
          }) as Row | undefined,
      );
      return row ? fromRow(row) : null;
    },

    async bind(id, binding, now) {
      return guard(() => {
        if (q.bind.run({ id, binding, now }).changes > 0) return "bound";
        // Not bound by this call: either bound already, or gone. A record deleted between the
        // two statements reads as missing, which it then is.
        return q.get.get(id, now) ? "conflict" : "missing";
      });
    },

    async delete(id, reason) {
      const row = guard(() => deleteTx.immediate(id, reason));
      if (!row) return null;
      const record = fromRow(row);
      announce(feed, [record], reason);
      return record;
    },

    async deleteUser(userId, opts) {
      const rows = guard(() =>
        deleteUserTx.immediate(userId, opts.reason, opts.strategy, opts.except),
      );
      const records = rows.map(fromRow);
      announce(feed, records, opts.reason);
      return records;
    },

    async listUser(userId, now) {
      return guard(() => (q.userLive.all(userId, now) as Row[]).map(fromRow));
    },

    async deleteExpired(now, limit) {
      const batch = Math.max(0, Math.floor(limit));
      const rows = guard(() => q.expired.all(now, batch) as Row[]);
      // Log entries matter only while a token of the session they name could still verify.
      guard(() => q.pruneChanges.run(now - REVOCATION_MARGIN_MS, batch));
      return rows.map(fromRow);
    },

    subscribe: subscribeFollowing(feed, poller),

    // A closed store hears nothing more: its feed is as stale as it gets.
    feedLag: () => (db.open ? poller.lag() : Number.POSITIVE_INFINITY),

    async ping() {
      // Healthy means sessions can be written: take and release the write lock.
      guard(() => {
        db.exec("BEGIN IMMEDIATE");
        db.exec("ROLLBACK");
      });
    },

    async close() {
      poller.stop();
      if (db.open) db.close();
    },
  };

  function guard<T>(operation: () => T): T {
    try {
      return operation();
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      const closed = error instanceof TypeError && !db.open;
      if (closed || (typeof code === "string" && UNAVAILABLE.test(code))) {
        throw new SessionError(
          "STORE_UNAVAILABLE",
          `sqlite store unavailable: ${String(code ?? "closed")}`,
          {
            cause: error,
          },
        );
      }
      throw error;
    }
  }
}
