import { join } from "node:path";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { createSessionManager } from "../../src/index.js";
import { createApp } from "../../src/server/app.js";
import { hashPassword } from "../../src/server/passwords.js";
import { sqliteUsers } from "../../src/server/users-sqlite.js";
import { sqliteStore } from "../../src/stores/sqlite/index.js";
import { tempDir } from "../helpers/tmp.js";

// The real application, in process, on a real SQLite file: fast enough for thousands of runs.
const dir = tempDir();
const store = sqliteStore({ path: join(dir, "db.sqlite") });
const users = sqliteUsers(join(dir, "db.sqlite"));
const manager = createSessionManager({
  strategy: "id",
  store,
  cleanup: false,
  csrf: { origins: ["http://app.test"] },
});
const errors: string[] = [];
/** The real app on this file's store and users, with the sign-in limits a test needs. */
const appWith = (loginLimits: { perUser: number; perAddress: number; windowMs: number }) =>
  createApp({
    managers: { id: manager },
    store,
    users,
    scryptLog2N: 10,
    loginLimits,
    log: (line) => errors.push(line),
  });
// High limits: the properties probe parsing, not the rate limiter.
const app = appWith({ perUser: 1e9, perAddress: 1e9, windowMs: 60_000 });
afterAll(async () => {
  manager.close();
  await store.close();
  users.close();
});

const call = (path: string, init: RequestInit = {}) => app.request(`http://app.test${path}`, init);

const headerValue = fc
  .string({ unit: "binary-ascii", maxLength: 200 })
  .map((s) => s.replace(/[\r\n\0]/g, ""));
const tokenLike = fc.oneof(
  headerValue,
  fc
    .tuple(fc.base64String({ maxLength: 30 }), fc.base64String({ maxLength: 60 }))
    .map(([a, b]) => `${a}.${b}`),
  fc.constantFrom("", ".", `${"A".repeat(22)}.${"A".repeat(43)}`, "a".repeat(9000)),
);

describe("untrusted input never throws, never 5xx, never authenticates", () => {
  it("random cookie headers", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.constantFrom("__Host-sid", "__host-sid", "sid", "x"), tokenLike), {
          maxLength: 4,
        }),
        headerValue,
        async (pairs, junk) => {
          const cookie = `${pairs.map(([k, v]) => `${k}=${v}`).join("; ")}; ${junk}`;
          const r = await call("/api/id/me", { headers: { cookie } });
          expect(r.status).toBe(401);
        },
      ),
      { numRuns: 400 },
    );
  });

  it("random Authorization headers", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          tokenLike.map((t) => `Bearer ${t}`),
          headerValue,
        ),
        async (authorization) => {
          const r = await call("/api/id/me", { headers: { authorization } });
          expect(r.status).toBe(401);
        },
      ),
      { numRuns: 400 },
    );
  });

  it("random JSON bodies to sign-in and registration", async () => {
    await hashPassword("warm-up", 10);
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom("/api/id/login", "/api/users", "/api/id/sessions/revoke-all"),
        fc.jsonValue(),
        async (path, body) => {
          const r = await call(path, {
            method: "POST",
            headers: { "content-type": "application/json", origin: "http://app.test" },
            body: JSON.stringify(body),
          });
          expect(r.status).toBeGreaterThanOrEqual(400);
          expect(r.status).toBeLessThan(500);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("random bytes with random content types and methods", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom("POST", "PUT", "DELETE", "PATCH"),
        fc.constantFrom("/api/id/login", "/api/users", "/api/id/logout", "/api/id/sessions/x", "/"),
        fc.constantFrom(
          "application/json",
          "application/json; charset=utf-8",
          "text/plain",
          "",
          "multipart/form-data",
        ),
        fc.uint8Array({ maxLength: 300 }),
        async (method, path, type, bytes) => {
          const headers: Record<string, string> = { origin: "http://app.test" };
          if (type) headers["content-type"] = type;
          const r = await call(path, { method, headers, body: bytes });
          expect(r.status).toBeGreaterThanOrEqual(400);
          expect(r.status).toBeLessThan(500);
        },
      ),
      { numRuns: 300 },
    );
    expect(errors).toEqual([]);
  });
});

describe("sign-in rate limit per client address", () => {
  it("answers 429 with Retry-After once one address has failed too often, whatever the usernames", async () => {
    const limited = appWith({ perUser: 100, perAddress: 3, windowMs: 60_000 });
    const attempt = (username: string) =>
      limited.request("http://app.test/api/id/login", {
        method: "POST",
        headers: { "content-type": "application/json", origin: "http://app.test" },
        body: JSON.stringify({ username, password: "wrong password" }),
      });
    for (const name of ["alpha", "bravo", "charlie"])
      expect((await attempt(name)).status).toBe(401);
    const blocked = await attempt("delta");
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers.get("retry-after"))).toBeGreaterThan(0);
  });
});
