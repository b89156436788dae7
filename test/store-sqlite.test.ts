import { join } from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { migrateSqlite, SCHEMA_VERSION, sqliteStore } from "../src/stores/sqlite/index.js";
import { runStoreConformance } from "../src/testing/index.js";
import { makeRecord } from "../src/testing/store-conformance.js";
import { tempDir } from "./helpers/tmp.js";

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
    expect(migrateSqlite(db)).toEqual([1, 2]);
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
