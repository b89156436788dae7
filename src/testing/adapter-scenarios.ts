import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSessionManager, type SessionManager } from "../core/manager.js";
import { SessionError } from "../errors.js";
import { memoryStore } from "../stores/memory/index.js";
import type { SessionStore } from "../stores/types.js";

/**
 * The scenario suite every framework adapter passes, over real HTTP. The app under test has
 * three routes, written the framework's own way with its sessionkit adapter:
 *
 * - `POST /login`, JSON `{ username, password }`: signs in `alice` / `wonderland` as user
 *   `u-alice` and answers 200 `{ userId }`; a wrong password answers 401.
 * - `GET /me`, guarded: 200 `{ userId }`.
 * - `POST /logout`: signs out, 204.
 *
 * Its error handling answers sessionkit's errors (`SessionError.statusCode`), so that a store
 * outage is a 503 and a cross-site sign-in a 403.
 */
export interface AdapterHarness {
  /** Starts the app on 127.0.0.1 with this manager; the suite closes it at the end. */
  serve(manager: SessionManager): Promise<{ url: string; close(): Promise<void> }>;
}

/** The origin the suite's manager allows; requests from anywhere else are cross-site. */
export const SCENARIO_ORIGIN = "https://app.example";

/**
 * A store whose backend can be cut off: while `down`, every call fails as an unreachable
 * backend does (`STORE_UNAVAILABLE`). The adapters are under test here, not the store.
 */
export function switchableStore(inner: SessionStore) {
  const state = { down: false };
  const store = new Proxy(inner, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (typeof value !== "function" || property === "subscribe" || property === "feedLag")
        return value;
      return (...args: unknown[]) => {
        if (state.down) {
          return Promise.reject(new SessionError("STORE_UNAVAILABLE", "backend cut off"));
        }
        return value.apply(target, args);
      };
    },
  });
  return { store, state };
}

/**
 * Registers the scenario suite (vitest) for one adapter: `harness.serve` starts the app under
 * test with the suite's manager, on a free port.
 *
 * @example
 * ```ts
 * // A vitest test file: your app, with its POST /login, GET /me and POST /logout routes.
 * import { createServer, type RequestListener } from "node:http";
 * import type { AddressInfo } from "node:net";
 * import type { SessionManager } from "sessionkit";
 * import { runAdapterScenarios } from "sessionkit/testing";
 *
 * declare function createApp(manager: SessionManager): RequestListener; // yours
 *
 * runAdapterScenarios("my app", {
 *   async serve(manager) {
 *     const server = createServer(createApp(manager));
 *     await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
 *     const { port } = server.address() as AddressInfo;
 *     return {
 *       url: `http://127.0.0.1:${port}`,
 *       close: () => new Promise<void>((resolve) => server.close(() => resolve())),
 *     };
 *   },
 * });
 * ```
 */
export function runAdapterScenarios(name: string, harness: AdapterHarness): void {
  describe(`${name} adapter scenarios`, () => {
    let now = Date.UTC(2027, 0, 1);
    const { store, state } = switchableStore(memoryStore());
    const manager = createSessionManager({
      strategy: "id",
      store,
      clock: () => now,
      csrf: { origins: [SCENARIO_ORIGIN] },
      cleanup: false,
      lifetimes: { idle: "30m", absolute: "12h", renewal: "1h", grace: "10s" },
    });
    let server: { url: string; close(): Promise<void> };

    beforeAll(async () => {
      server = await harness.serve(manager as unknown as SessionManager);
    });
    afterAll(async () => {
      await server?.close();
      manager.close();
    });

    const call = (
      method: string,
      path: string,
      options: { cookie?: string; origin?: string | null; body?: unknown } = {},
    ) => {
      const headers: Record<string, string> = {};
      if (options.cookie) headers.cookie = options.cookie;
      const origin = options.origin === undefined ? SCENARIO_ORIGIN : options.origin;
      if (origin !== null && method !== "GET") headers.origin = origin;
      if (options.body !== undefined) headers["content-type"] = "application/json";
      return fetch(`${server.url}${path}`, {
        method,
        headers,
        ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
      });
    };
    const sessionCookie = (response: Response) =>
      response.headers
        .getSetCookie()
        .map((c) => c.split(";")[0] ?? "")
        .find((c) => c.startsWith(`${manager.cookieNames.session}=`) && !c.endsWith("="));
    const signIn = async () => {
      const r = await call("POST", "/login", {
        body: { username: "alice", password: "wonderland" },
      });
      expect(r.status).toBe(200);
      const cookie = sessionCookie(r);
      expect(cookie).toBeDefined();
      return cookie as string;
    };

    it("signs in with a session cookie and serves the guarded route with it", async () => {
      const cookie = await signIn();
      const me = await call("GET", "/me", { cookie });
      expect(me.status).toBe(200);
      expect(await me.json()).toEqual({ userId: "u-alice" });
    });

    it("marks an authenticated response Cache-Control: no-store (it is about one user)", async () => {
      const cookie = await signIn();
      const me = await call("GET", "/me", { cookie });
      expect(me.status).toBe(200);
      expect(me.headers.get("cache-control")).toBe("no-store");
    });

    it("answers the guarded route 401 (problem+json) without a session or with a wrong password", async () => {
      const me = await call("GET", "/me");
      expect(me.status).toBe(401);
      expect(me.headers.get("content-type")).toContain("application/problem+json");
      expect(((await me.json()) as { code?: string }).code).toBe("unauthorized");
      const wrong = await call("POST", "/login", { body: { username: "alice", password: "x" } });
      expect(wrong.status).toBe(401);
      expect(sessionCookie(wrong)).toBeUndefined();
    });

    it("renews the session cookie after the renewal interval; the new cookie works", async () => {
      const cookie = await signIn();
      // Active every 20 minutes (under the 30-minute idle limit) until past the 1-hour renewal.
      for (const _ of [1, 2]) {
        now += 20 * 60_000;
        expect((await call("GET", "/me", { cookie })).status).toBe(200);
      }
      now += 21 * 60_000;
      const renewed = await call("GET", "/me", { cookie });
      expect(renewed.status).toBe(200);
      const next = sessionCookie(renewed);
      expect(next).toBeDefined();
      expect(next).not.toBe(cookie);
      now += 20_000; // past the grace window of the replaced cookie
      expect((await call("GET", "/me", { cookie: next })).status).toBe(200);
      expect((await call("GET", "/me", { cookie })).status).toBe(401);
    });

    it("signs out: the cookie is cleared and no longer accepted", async () => {
      const cookie = await signIn();
      const out = await call("POST", "/logout", { cookie });
      expect(out.status).toBe(204);
      const cleared = out.headers
        .getSetCookie()
        .find((c) => c.startsWith(`${manager.cookieNames.session}=`));
      expect(cleared).toMatch(/Max-Age=0/i);
      expect((await call("GET", "/me", { cookie })).status).toBe(401);
    });

    it("refuses cross-site requests (403): sign-out riding the cookie, and sign-in", async () => {
      const cookie = await signIn();
      const out = await call("POST", "/logout", { cookie, origin: "https://evil.example" });
      expect(out.status).toBe(403);
      expect((await call("GET", "/me", { cookie })).status).toBe(200);
      const login = await call("POST", "/login", {
        origin: "https://evil.example",
        body: { username: "alice", password: "wonderland" },
      });
      expect(login.status).toBe(403);
      expect(sessionCookie(login)).toBeUndefined();
    });

    it("refuses a session revoked elsewhere", async () => {
      const cookie = await signIn();
      const revoked = await manager.revokeUser("u-alice");
      expect(revoked.length).toBeGreaterThan(0);
      expect((await call("GET", "/me", { cookie })).status).toBe(401);
    });

    it("answers 503 while the store is unreachable, and recovers", async () => {
      const cookie = await signIn();
      state.down = true;
      try {
        expect((await call("GET", "/me", { cookie })).status).toBe(503);
        const login = await call("POST", "/login", {
          body: { username: "alice", password: "wonderland" },
        });
        expect(login.status).toBe(503);
      } finally {
        state.down = false;
      }
      expect((await call("GET", "/me", { cookie })).status).toBe(200);
    });
  });
}
