import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requireSession } from "../../src/adapters/fetch.js";
import { getSession, sessionMiddleware } from "../../src/adapters/node.js";
import { createSessionManager } from "../../src/index.js";
import { memoryStore } from "../../src/stores/memory/index.js";
import { sqliteStore } from "../../src/stores/sqlite/index.js";
import { cookiesOf, manualClock, ORIGIN, requestWith, withSid } from "../helpers/manager.js";

describe("fetch adapter: requireSession", () => {
  const clock = manualClock();
  const manager = createSessionManager({
    strategy: "id",
    store: memoryStore(),
    clock: clock.now,
    cleanup: false,
    csrf: { origins: [ORIGIN] },
    lifetimes: { idle: "2h", renewal: "1h" },
  });
  const handler = requireSession(manager, (_request, session) =>
    Response.json({ user: session.userId }),
  );

  it("runs the handler for a valid session", async () => {
    const { token } = await manager.create({ userId: "u1" });
    const response = await handler(withSid(token));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ user: "u1" });
  });

  it("answers 401 problem+json, with RFC 6750 WWW-Authenticate for Bearer", async () => {
    const missing = await handler(requestWith());
    expect(missing.status).toBe(401);
    expect(missing.headers.get("content-type")).toBe("application/problem+json");
    const bearer = await handler(requestWith({ bearer: "bogus" }));
    expect(bearer.headers.get("www-authenticate")).toBe('Bearer error="invalid_token"');
    const cookie = await handler(withSid("bogus"));
    expect(cookie.headers.get("www-authenticate")).toBeNull();
    expect(await cookie.text()).toBe(await missing.text());
  });

  it("answers 403 to a cross-site unsafe request", async () => {
    const { token } = await manager.create({ userId: "u1" });
    const response = await handler(
      withSid(token, { method: "POST", headers: { origin: "https://evil.example" } }),
    );
    expect(response.status).toBe(403);
    expect(((await response.json()) as { code: string }).code).toBe("csrf_failed");
  });

  it("copies a renewed cookie onto the handler's response", async () => {
    const { token } = await manager.create({ userId: "u1" });
    clock.advance(60 * 60_000);
    const response = await handler(withSid(token));
    expect(response.status).toBe(200);
    const renewed = cookiesOf(response.headers).get("__Host-sid");
    expect(renewed?.split(".")[0]).toBe(token.split(".")[0]);
    expect(renewed).not.toBe(token);
  });

  it("answers 503 while the store is unreachable", async () => {
    const store = sqliteStore({ path: ":memory:" });
    const broken = createSessionManager({ strategy: "id", store, cleanup: false });
    const { token } = await broken.create({ userId: "u1" });
    await store.close();
    const response = await requireSession(broken, () => new Response("never"))(withSid(token));
    expect(response.status).toBe(503);
    expect(response.headers.get("retry-after")).toBe("1");
  });
});

describe("node adapter over a real node:http server", () => {
  const store = sqliteStore({ path: ":memory:" });
  const manager = createSessionManager({
    strategy: "id",
    store,
    cleanup: false,
    csrf: { origins: [ORIGIN] },
  });
  const guard = sessionMiddleware(manager);
  let server: Server;
  let base: string;

  beforeAll(async () => {
    server = createServer((req, res) => {
      guard(req, res, (error) => {
        if (error) {
          res.statusCode = 500;
          return res.end();
        }
        res.setHeader("content-type", "application/json");
        res.end(JSON.stringify({ user: getSession(req)?.userId }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    manager.close();
  });

  it("attaches the session and calls next()", async () => {
    const { token } = await manager.create({ userId: "node-user" });
    const response = await fetch(`${base}/me`, { headers: { cookie: `__Host-sid=${token}` } });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ user: "node-user" });
  });

  it("answers 401 and clears a bad cookie, 403 for cross-site POST", async () => {
    const bad = await fetch(`${base}/me`, { headers: { cookie: "__Host-sid=bogus" } });
    expect(bad.status).toBe(401);
    expect(bad.headers.getSetCookie()[0]).toMatch(/^__Host-sid=; /);
    const { token } = await manager.create({ userId: "node-user" });
    const csrf = await fetch(`${base}/me`, {
      method: "POST",
      headers: { cookie: `__Host-sid=${token}`, origin: "https://evil.example" },
    });
    expect(csrf.status).toBe(403);
  });

  it("answers 503 when the store goes away, instead of crashing", async () => {
    const { token } = await manager.create({ userId: "node-user" });
    await store.close();
    const response = await fetch(`${base}/me`, { headers: { cookie: `__Host-sid=${token}` } });
    expect(response.status).toBe(503);
  });
});
