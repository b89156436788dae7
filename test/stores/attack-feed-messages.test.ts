import { randomBytes } from "node:crypto";
import { join } from "node:path";
import Database from "better-sqlite3";
import pg from "pg";
import { createClient } from "redis";
import { afterAll, describe, expect, it } from "vitest";
import { postgresStore } from "../../src/stores/postgres/index.js";
import { redisStore } from "../../src/stores/redis/index.js";
import { sqliteStore } from "../../src/stores/sqlite/index.js";
import type { SessionStore, StoreChange, StoredSession } from "../../src/stores/types.js";
import { makeRecord } from "../../src/testing/store-conformance.js";
import {
  deleteRedisKeys,
  dropPostgresTables,
  POSTGRES_URL,
  REDIS_URL,
} from "../helpers/backends.js";
import { watchProcess } from "../helpers/process.js";
import { serviceAvailable } from "../helpers/services.js";
import { tempDir } from "../helpers/tmp.js";

// Issue 14 moved the building of a revocation into changeOf (stores/change.ts), and the
// followers of other instances into poller.ts / feed.ts. Attack: whatever lands on the wire
// (a message with extra fields, no `type`, a forged `origin`, not an object at all, not JSON)
// neither crashes the follower nor keeps a real revocation from reaching every instance, and
// what subscribers hear is exactly the six announced fields.
const redisUp = await serviceAvailable("Redis", 6379);
const postgresUp = await serviceAvailable("PostgreSQL", 5432);
const tag = randomBytes(4).toString("hex");
const redisPrefix = `afm${tag}:`;
const pgPrefix = `sk_afm_${tag}_`;
const T0 = Date.now();
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

afterAll(async () => {
  if (redisUp) await deleteRedisKeys(redisPrefix);
  if (postgresUp) await dropPostgresTables(pgPrefix);
});

const ANNOUNCED = ["expiresAt", "id", "reason", "strategy", "type", "userId"];

/** Junk a follower must shrug off: `victim` names a live session of another instance. */
function junk(victim: string): string[] {
  const base = { id: victim, userId: "u", strategy: "id", expiresAt: T0 + 60_000 };
  return [
    "",
    "not json",
    "null",
    "[]",
    "17",
    '"text"',
    "{}",
    JSON.stringify({ origin: "someone" }),
    JSON.stringify({ ...base, id: 5, origin: "x" }),
    JSON.stringify({ ...base, expiresAt: "soon", origin: "x" }),
    JSON.stringify({ ...base, id: null, origin: "x" }),
    '{"__proto__":{"origin":"x"},"id":"proto"}',
    '{"id":"dup","id":"dup2","origin":"x"}',
    "{".repeat(5000),
  ];
}

async function signedIn(store: SessionStore, count: number): Promise<StoredSession[]> {
  const userId = `user-${randomBytes(6).toString("hex")}`;
  const records = Array.from({ length: count }, () =>
    makeRecord({ userId, expiresAt: T0 + 10 * 60_000, absoluteExpiresAt: T0 + 60 * 60_000 }),
  );
  for (const r of records) await store.create(r, { now: T0 });
  return records;
}

async function until(check: () => boolean, ms = 5000) {
  const deadline = Date.now() + ms;
  while (!check() && Date.now() < deadline) await pause(10);
  return check();
}

/** B listens; a first revocation by A proves B live before the junk is sent. */
async function follow(a: SessionStore, b: SessionStore) {
  const heard: StoreChange[] = [];
  const stop = b.subscribe((change) => heard.push(change));
  const [probe] = await signedIn(a, 1);
  await a.delete(probe?.id ?? "", "revoked");
  expect(await until(() => heard.some((c) => c.id === probe?.id))).toBe(true);
  return { heard, stop };
}

/** After the junk: real revocations by A (delete and deleteUser) all reach B, as announced. */
async function realRevocationsArrive(a: SessionStore, heard: StoreChange[]) {
  const sessions = await signedIn(a, 3);
  const [one, ...rest] = sessions;
  if (!one) throw new Error("no session");
  await a.delete(one.id, "logout");
  await a.deleteUser(one.userId, { reason: "revoked-user" });
  const ids = sessions.map((s) => s.id);
  expect(await until(() => ids.every((id) => heard.some((c) => c.id === id)))).toBe(true);
  for (const id of ids) {
    const change = heard.find((c) => c.id === id);
    expect(Object.keys(change ?? {}).sort()).toEqual(ANNOUNCED);
    expect(change?.type).toBe("revoked");
  }
  expect(heard.find((c) => c.id === one.id)?.reason).toBe("logout");
  expect(rest.map((r) => heard.find((c) => c.id === r.id)?.reason)).toEqual([
    "revoked-user",
    "revoked-user",
  ]);
  // Whatever the junk carried, no subscriber heard more than the announced fields.
  for (const change of heard) {
    for (const key of Object.keys(change)) expect(ANNOUNCED).toContain(key);
  }
}

describe.skipIf(!redisUp)("Redis feed: junk on the channel and in the log", () => {
  it("survives malformed messages and still delivers every real revocation", async () => {
    const open = () => redisStore({ url: REDIS_URL, prefix: redisPrefix, commandTimeoutMs: 2000 });
    const [a, b] = [open(), open()];
    const raw = createClient({ url: REDIS_URL });
    await raw.connect();
    const release = watchProcess();
    try {
      const { heard, stop } = await follow(a, b);
      const [victim] = await signedIn(a, 1);
      for (const text of junk(victim?.id ?? "")) {
        await raw.publish(`${redisPrefix}{rev}:revocations`, text);
        await raw.xAdd(`${redisPrefix}{rev}:log`, "*", { c: text });
      }
      // A forged revocation with extra fields: only the announced ones reach subscribers.
      const forged = {
        id: "forged-extra",
        userId: "u",
        strategy: "id",
        expiresAt: T0 + 60_000,
        reason: "revoked",
        origin: "someone-else",
        secretHash: "leak",
        data: { role: "admin" },
        type: "created",
      };
      await raw.publish(`${redisPrefix}{rev}:revocations`, JSON.stringify(forged));
      await realRevocationsArrive(a, heard);
      const extra = heard.find((c) => c.id === "forged-extra");
      // A well-formed revocation on the channel is believed (the channel is the store's own);
      // what it carried beyond the announced fields is not.
      expect(extra).toEqual({
        type: "revoked",
        id: "forged-extra",
        userId: "u",
        strategy: "id",
        expiresAt: T0 + 60_000,
        reason: "revoked",
      });
      stop();
      expect(release()).toEqual([]);
    } finally {
      release();
      await raw.quit();
      await a.close?.();
      await b.close?.();
    }
  });
});

describe.skipIf(!postgresUp)("PostgreSQL feed: junk NOTIFY payloads", () => {
  it("survives malformed notifications and still delivers every real revocation", async () => {
    const open = () =>
      postgresStore({
        connectionString: POSTGRES_URL,
        tablePrefix: pgPrefix,
        connectTimeoutMs: 2000,
      });
    const [a, b] = [open(), open()];
    const raw = new pg.Client({ connectionString: POSTGRES_URL });
    await raw.connect();
    const release = watchProcess();
    try {
      const { heard, stop } = await follow(a, b);
      const [victim] = await signedIn(a, 1);
      for (const text of junk(victim?.id ?? "")) {
        await raw.query("SELECT pg_notify($1, $2)", [
          `${pgPrefix}revocations`,
          text.slice(0, 7000),
        ]);
      }
      await realRevocationsArrive(a, heard);
      stop();
      expect(release()).toEqual([]);
    } finally {
      release();
      await raw.end();
      await a.close?.();
      await b.close?.();
    }
  });
});

describe("SQLite feed: junk rows in the revocation log", () => {
  it("the poller skips nothing real past rows of the wrong types, and survives them", async () => {
    const path = join(tempDir("sk-afm-"), "sessions.db");
    const open = () => sqliteStore({ path, pollIntervalMs: 10 });
    const [a, b] = [open(), open()];
    const raw = new Database(path);
    try {
      const { heard, stop } = await follow(a, b);
      const insert = raw.prepare(
        "INSERT INTO sessionkit_changes (id, user_id, strategy, expires_at, reason, origin) VALUES (?, ?, ?, ?, ?, ?)",
      );
      // SQLite keeps what it is given: text where a number belongs, blobs, huge numbers.
      for (const row of [
        ["junk-1", "u", "id", "soon", "revoked", "x"],
        ["junk-2", "u", "nope", 1e308, "nope", "x"],
        ["junk-3", "u", "id", Buffer.from("blob"), "revoked", "x"],
        ["", "", "", -1, "", ""],
      ]) {
        insert.run(...row);
      }
      await realRevocationsArrive(a, heard);
      stop();
    } finally {
      raw.close();
      await a.close?.();
      await b.close?.();
    }
  });
});
