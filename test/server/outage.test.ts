import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { createSessionManager, type SessionStore } from "../../src/index.js";
import { createApp } from "../../src/server/app.js";
import { sqliteUsers } from "../../src/server/users-sqlite.js";
import { memoryStore } from "../../src/stores/memory/index.js";
import { sqliteStore } from "../../src/stores/sqlite/index.js";
import { generateKeySet } from "../../src/tokens/keys.js";
import { tempDir } from "../helpers/tmp.js";

const dir = tempDir();
const path = join(dir, "outage.sqlite");
const store = sqliteStore({ path, busyTimeoutMs: 100 });
const users = sqliteUsers(join(dir, "users.sqlite"));
const manager = createSessionManager({
  strategy: "id",
  store,
  cleanup: false,
  csrf: { origins: ["http://app.test"] },
});
const app = createApp({ managers: { id: manager }, store, users, scryptLog2N: 10 });
afterAll(async () => {
  manager.close();
  await store.close();
  users.close();
});

const post = (path: string, body: unknown) =>
  app.request(`http://app.test${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", origin: "http://app.test" },
    body: JSON.stringify(body),
  });

describe("reference server under a store outage", () => {
  it("answers 503 (never 500) while the session store is locked, and recovers by itself", async () => {
    expect(
      (await post("/api/users", { username: "outage", password: "correct horse battery" })).status,
    ).toBe(201);
    const holder = new Database(path);
    holder.exec("BEGIN IMMEDIATE"); // another process holding the write lock
    try {
      const health = await app.request("http://app.test/healthz");
      expect(health.status).toBe(503);
      const login = await post("/api/id/login", {
        username: "outage",
        password: "correct horse battery",
      });
      expect(login.status).toBe(503);
      expect(((await login.json()) as { code: string }).code).toBe("store_unavailable");
      expect(login.headers.get("retry-after")).toBe("1");
    } finally {
      holder.exec("ROLLBACK");
      holder.close();
    }
    expect((await app.request("http://app.test/healthz")).status).toBe(200);
    const login = await post("/api/id/login", {
      username: "outage",
      password: "correct horse battery",
    });
    expect(login.status).toBe(200);
  });
});

describe("reference server health while the revocation feed is behind", () => {
  it("answers /healthz 503 feed_behind past maxLag when jwt or hybrid is served, 200 again after", async () => {
    // The store's own feed reports the lag; this one lets the test say how far behind it is.
    let lag = 0;
    const base = memoryStore();
    const lagging: SessionStore = { ...base, feedLag: () => lag };
    const keys = generateKeySet();
    const jwt = createSessionManager({
      strategy: "jwt",
      store: lagging,
      keys,
      issuer: "http://app.test",
      audience: "http://app.test/api/jwt",
      cleanup: false,
    });
    const withJwt = createApp({
      managers: { jwt },
      store: lagging,
      users,
      scryptLog2N: 10,
      maxLag: 1000,
    });
    try {
      expect((await withJwt.request("http://app.test/healthz")).status).toBe(200);
      lag = 1500;
      const behind = await withJwt.request("http://app.test/healthz");
      expect(behind.status).toBe(503);
      expect(((await behind.json()) as { code: string }).code).toBe("feed_behind");
      lag = 0;
      expect((await withJwt.request("http://app.test/healthz")).status).toBe(200);
    } finally {
      jwt.close();
    }
  });
});
