import { join } from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { migrateSqlite, SCHEMA_VERSION, sqliteStore } from "../../src/stores/sqlite/index.js";
import { toRow } from "../../src/stores/sqlite/rows.js";
import { runStoreConformance } from "../../src/testing/index.js";
import { makeRecord } from "../../src/testing/store-conformance.js";
import { tempDir } from "../helpers/tmp.js";

const dir = tempDir();
const path = join(dir, "conformance.db");

runStoreConformance("sqlite", {
  create: () => sqliteStore({ path, busyTimeoutMs: 50 }),
  peer: () => sqliteStore({ path, busyTimeoutMs: 50 }),
  // A second connection holds the write lock, as a stuck process would: the store must
  // report STORE_UNAVAILABLE, then work again once the lock is gone.
  outage: () => {
    let holder: Database.Database | null = null;
    return {
      async begin() {
        holder = new Database(path);
        holder.exec("BEGIN IMMEDIATE");
      },
      async end() {
        holder?.exec("COMMIT");
        holder?.close();
        holder = null;
      },
    };
  },
});

describe("sqlite schema", () => {
  it("records its version and applies nothing twice", () => {
    const db = new Database(join(dir, "schema.db"));
    expect(migrateSqlite(db)).toEqual([1, 2, 3]);
    expect(migrateSqlite(db)).toEqual([]);
    expect(db.pragma("user_version", { simple: true })).toBe(SCHEMA_VERSION);
    const indexes = db
      .prepare(
        "SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'sessionkit_sessions'",
      )
      .all()
      .map((r) => (r as { name: string }).name);
    expect(indexes).toEqual(
      expect.arrayContaining(["sessionkit_sessions_user", "sessionkit_sessions_expiry"]),
    );
    db.close();
  });

  it("migrates a database made before bindings: its sessions stay, unbound, and can be bound", async () => {
    const file = join(dir, "schema-2.db");
    // A database at schema 2 (today's tables without the binding column), holding a session
    // written the way that version wrote it: every column, positionally.
    const db = new Database(file);
    migrateSqlite(db);
    db.exec("ALTER TABLE sessionkit_sessions DROP COLUMN binding");
    db.pragma("user_version = 2");
    const original = makeRecord();
    const { binding: _, ...old } = toRow(original);
    db.prepare(
      `INSERT INTO sessionkit_sessions VALUES (@id, @user_id, @strategy, @secret_hash,
       @previous_secret_hash, @previous_valid_until, @successor, @created_at, @last_active_at,
       @renewed_at, @auth_time, @expires_at, @absolute_expires_at, @ip, @user_agent, @data, @version)`,
    ).run(old);
    db.close();
    const store = sqliteStore({ path: file });
    const now = old.created_at;
    expect(await store.get(old.id, now)).toEqual(original);
    expect(await store.bind?.(old.id, '{"kind":"dbsc"}', now)).toBe("bound");
    const fresh = makeRecord({ binding: '{"kind":"dpop"}' });
    await store.create(fresh, { now });
    await store.close();
    const reopened = sqliteStore({ path: file });
    expect((await reopened.get(old.id, now))?.binding).toBe('{"kind":"dbsc"}');
    expect(await reopened.get(fresh.id, now)).toEqual(fresh);
    await reopened.close();
    const check = new Database(file);
    expect(check.pragma("user_version", { simple: true })).toBe(SCHEMA_VERSION);
    check.close();
  });

  it("refuses a database from a newer sessionkit", () => {
    const db = new Database(join(dir, "newer.db"));
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    expect(() => migrateSqlite(db)).toThrow(/newer/);
    db.close();
  });

  it("uses the indexes for lookups by user and for expiry cleanup, never a full scan", () => {
    const db = new Database(join(dir, "plan.db"));
    migrateSqlite(db);
    const plan = (sql: string) =>
      db
        .prepare(`EXPLAIN QUERY PLAN ${sql}`)
        .all()
        .map((r) => (r as { detail: string }).detail)
        .join(" | ");
    expect(
      plan(
        "SELECT * FROM sessionkit_sessions WHERE user_id = 'u' AND expires_at > 0 ORDER BY created_at",
      ),
    ).toMatch(/USING INDEX sessionkit_sessions_user/);
    expect(plan("SELECT id FROM sessionkit_sessions WHERE expires_at <= 5 LIMIT 10")).toMatch(
      /USING (COVERING )?INDEX sessionkit_sessions_expiry/,
    );
    db.close();
  });

  it("shares sessions between two connections to one file, as two processes would", async () => {
    const file = join(dir, "shared.db");
    const a = sqliteStore({ path: file });
    const b = sqliteStore({ path: file });
    const record = makeRecord();
    await a.create(record, { now: record.createdAt });
    expect((await b.get(record.id, record.createdAt))?.id).toBe(record.id);
    await b.delete(record.id, "revoked");
    expect(await a.get(record.id, record.createdAt)).toBeNull();
    await a.close();
    await b.close();
  });
});
