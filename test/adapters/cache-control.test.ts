import { createServer, type RequestListener } from "node:http";
import type { AddressInfo } from "node:net";
import express from "express";
import Fastify from "fastify";
import { Hono } from "hono";
import { afterAll, describe, expect, it } from "vitest";
import { sessionkit as expressSessionkit } from "../../src/adapters/express.js";
import { sessionkit as fastifySessionkit } from "../../src/adapters/fastify.js";
import { requireSession } from "../../src/adapters/fetch.js";
import { sessionkit as honoSessionkit, type SessionEnv } from "../../src/adapters/hono.js";
import { authenticateNode } from "../../src/adapters/node.js";
import { createSessionManager } from "../../src/index.js";
import { memoryStore } from "../../src/stores/memory/index.js";

// Every adapter marks an authenticated response `Cache-Control: no-store` (OWASP session
// management cheat sheet), unless the application set its own; the scenario suite checks the
// default, this file the application's choice and the responses without a session.
const manager = createSessionManager({ strategy: "id", store: memoryStore(), cleanup: false });
afterAll(() => manager.close());
const OWN = "private, max-age=60";

const signedIn = async () => {
  const { token } = await manager.create({ userId: "u1" });
  return { cookie: `${manager.cookieNames.session}=${token}` };
};

async function listen(listener: RequestListener) {
  const server = createServer(listener);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return (path: string, headers: Record<string, string> = {}) => fetch(base + path, { headers });
}

/** What each adapter's app answers on `/plain` (sets nothing) and `/own` (sets `OWN`). */
type Get = (path: string, headers?: Record<string, string>) => Promise<Response>;

async function expectCacheControl(get: Get) {
  const session = await signedIn();
  const plain = await get("/plain", session);
  expect(plain.status).toBe(200);
  expect(plain.headers.get("cache-control")).toBe("no-store");
  const own = await get("/own", session);
  expect(own.status).toBe(200);
  expect(own.headers.get("cache-control")).toBe(OWN);
  // Without a session the response is not about anyone: left to the application.
  expect((await get("/plain")).headers.get("cache-control")).toBeNull();
}

describe("Cache-Control on authenticated responses", () => {
  it("fetch: requireSession", async () => {
    const plain = requireSession(manager, () => Response.json({ ok: true }));
    const own = requireSession(manager, () =>
      Response.json({ ok: true }, { headers: { "cache-control": OWN } }),
    );
    const session = await signedIn();
    const request = () => new Request("https://app.example/", { headers: session });
    expect((await plain(request())).headers.get("cache-control")).toBe("no-store");
    expect((await own(request())).headers.get("cache-control")).toBe(OWN);
  });

  it("node: authenticateNode", async () => {
    const get = await listen(async (req, res) => {
      await authenticateNode(manager, req, res, { required: false });
      if (req.url === "/own") res.setHeader("cache-control", OWN);
      res.end("{}");
    });
    await expectCacheControl(get);
  });

  it("express: the sessionkit middleware", async () => {
    const app = express();
    app.use(expressSessionkit(manager));
    app.get("/plain", (_req, res) => {
      res.json({});
    });
    app.get("/own", (_req, res) => {
      res.set("cache-control", OWN).json({});
    });
    await expectCacheControl(await listen(app));
  });

  it("fastify: the plugin", async () => {
    const app = Fastify();
    await app.register(fastifySessionkit, { manager });
    app.get("/plain", async () => ({}));
    app.get("/own", async (_request, reply) => reply.header("cache-control", OWN).send({}));
    afterAll(() => app.close());
    const get: Get = async (path, headers = {}) => {
      const r = await app.inject({ method: "GET", url: path, headers });
      return new Response(r.body, {
        status: r.statusCode,
        headers: r.headers as Record<string, string>,
      });
    };
    await expectCacheControl(get);
  });

  it("hono: the middleware, with c.json, c.header and a Response of the handler's own", async () => {
    const app = new Hono<SessionEnv>();
    app.use(honoSessionkit(manager));
    app.get("/plain", (c) => c.json({}));
    app.get("/own", (c) => {
      c.header("cache-control", OWN);
      return c.json({});
    });
    app.get("/raw", () => new Response("{}"));
    app.get("/raw-own", () => new Response("{}", { headers: { "cache-control": OWN } }));
    const get: Get = async (path, headers = {}) => app.request(path, { headers });
    await expectCacheControl(get);
    const session = await signedIn();
    expect((await get("/raw", session)).headers.get("cache-control")).toBe("no-store");
    expect((await get("/raw-own", session)).headers.get("cache-control")).toBe(OWN);
  });
});
