import { randomBytes } from "node:crypto";
import { createServer, type RequestListener } from "node:http";
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import express from "express";
import Fastify from "fastify";
import { Hono } from "hono";
import { afterAll, describe, expect, it } from "vitest";
import * as expressAdapter from "../../src/adapters/express.js";
import * as fastifyAdapter from "../../src/adapters/fastify.js";
import * as fetchAdapter from "../../src/adapters/fetch.js";
import * as honoAdapter from "../../src/adapters/hono.js";
import { getSession, sessionMiddleware } from "../../src/adapters/node.js";
import { createSessionManager, type SessionManager } from "../../src/index.js";
import { redisStore } from "../../src/stores/redis/index.js";
import { deleteRedisKeys, REDIS_URL } from "../helpers/backends.js";
import { freePort } from "../helpers/free-port.js";
import { tcpProxy } from "../helpers/proxy.js";
import { serviceAvailable } from "../helpers/services.js";

// Issue 13: with Redis unreachable, a request carrying a session cookie must answer 503
// problem+json within the store's bound in every adapter, never hang, and get its session
// back once Redis is. Real Redis, real HTTP; only the network between them is cut.
const up = await serviceAvailable("Redis", 6379);
const prefix = `ao${randomBytes(4).toString("hex")}:`;
const BOUND = 500;
afterAll(() => (up ? deleteRedisKeys(prefix) : undefined));

type Served = { url: string; close(): Promise<void> };
type Fetch = (request: Request) => Response | Promise<Response>;

async function listen(listener: RequestListener): Promise<Served> {
  const server = createServer(listener);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function listenFetch(fetch: Fetch): Promise<Served> {
  return new Promise((resolve) => {
    const server = serve({ fetch, port: 0, hostname: "127.0.0.1" }, (info) =>
      resolve({
        url: `http://127.0.0.1:${info.port}`,
        close: () => new Promise<void>((done) => server.close(() => done())),
      }),
    );
  });
}

/** Each adapter's app, its own way: one guarded route, `GET /me`, answering `{ userId }`. */
const adapters: Array<[string, (manager: SessionManager) => Promise<Served>]> = [
  [
    "node",
    (manager) => {
      const guard = sessionMiddleware(manager);
      return listen((req, res) =>
        guard(req, res, (error) => {
          res.statusCode = error ? 500 : 200;
          res.end(error ? "" : JSON.stringify({ userId: getSession(req)?.userId }));
        }),
      );
    },
  ],
  [
    "express",
    (manager) => {
      const app = express();
      app.use(expressAdapter.sessionkit(manager));
      app.get("/me", expressAdapter.requireSession(), (req, res) => {
        res.json({ userId: req.session?.userId });
      });
      app.use(expressAdapter.sessionErrors());
      return listen(app);
    },
  ],
  [
    "fastify",
    async (manager) => {
      const app = Fastify();
      await app.register(fastifyAdapter.sessionkit, { manager });
      app.get("/me", { onRequest: fastifyAdapter.requireSession }, async (request) => ({
        userId: request.session?.userId,
      }));
      const url = await app.listen({ port: 0, host: "127.0.0.1" });
      return { url, close: () => app.close() };
    },
  ],
  [
    "hono",
    (manager) => {
      const app = new Hono<honoAdapter.SessionEnv>();
      app.use(honoAdapter.sessionkit(manager));
      app.onError(honoAdapter.sessionErrors());
      app.get("/me", honoAdapter.requireSession(), (c) =>
        c.json({ userId: c.var.session?.userId }),
      );
      return listenFetch(app.fetch);
    },
  ],
  [
    "fetch",
    (manager) =>
      listenFetch(
        fetchAdapter.requireSession(manager, (_request, session) =>
          Response.json({ userId: session.userId }),
        ),
      ),
  ],
];

/** A manager on its own Redis store at `url`, and what ends both. */
const managerOn = (url: string) => {
  const store = redisStore({ url, prefix, commandTimeoutMs: BOUND });
  const manager = createSessionManager({ strategy: "id", store, cleanup: false });
  return {
    manager,
    async close() {
      manager.close();
      await store.close();
    },
  };
};

/** GET /me with the cookie: status, headers, body, and how long it took (or "hung"). */
async function me(base: string, cookie: string) {
  const started = Date.now();
  const response = await fetch(`${base}/me`, {
    headers: { cookie },
    signal: AbortSignal.timeout(BOUND * 8),
  });
  const body = await response.text();
  return { response, body, ms: Date.now() - started };
}

async function expect503(base: string, cookie: string) {
  const { response, body, ms } = await me(base, cookie);
  expect(response.status).toBe(503);
  expect(response.headers.get("content-type")).toMatch(/^application\/problem\+json/);
  expect(response.headers.get("retry-after")).toBe("1");
  expect(JSON.parse(body)).toMatchObject({ status: 503, code: "store_unavailable" });
  expect(ms).toBeLessThan(BOUND + 500);
}

async function expect200Within(base: string, cookie: string, userId: string, ms: number) {
  await expect
    .poll(async () => (await me(base, cookie)).response.status, { timeout: ms, interval: 50 })
    .toBe(200);
  expect(JSON.parse((await me(base, cookie)).body)).toEqual({ userId });
}

describe.skipIf(!up)("a store outage over HTTP, in every adapter", () => {
  // Sessions are made through Redis directly: the app under test may never have reached it.
  const direct = createSessionManager({
    strategy: "id",
    store: redisStore({ url: REDIS_URL, prefix }),
    cleanup: false,
  });
  afterAll(() => direct.close());
  const signedIn = async (userId: string) => {
    const { headers } = await direct.create({ userId });
    return headers.getSetCookie()[0]?.split(";")[0] ?? "";
  };

  describe.each(adapters)("%s", (_name, app) => {
    it("answers 503 problem+json within the bound when Redis was never reachable (closed port)", async () => {
      const { manager, close } = managerOn(`redis://127.0.0.1:${await freePort()}`);
      const served = await app(manager);
      try {
        const cookie = await signedIn("u-closed");
        await expect503(served.url, cookie);
        await expect503(served.url, cookie);
      } finally {
        await served.close();
        await close();
      }
    });

    for (const fault of ["cut", "blackhole"] as const) {
      it(`answers 503 within the bound through a ${fault} from the start and mid-run, and 200 once Redis is back`, async () => {
        const proxy = await tcpProxy(6379);
        proxy[fault]();
        const { manager, close } = managerOn(`redis://127.0.0.1:${proxy.port}`);
        const served = await app(manager);
        try {
          const cookie = await signedIn(`u-${fault}`);
          await expect503(served.url, cookie);
          proxy.restore();
          await expect200Within(served.url, cookie, `u-${fault}`, 5000);
          proxy[fault]();
          await expect503(served.url, cookie);
          await expect503(served.url, cookie);
          proxy.restore();
          await expect200Within(served.url, cookie, `u-${fault}`, 5000);
        } finally {
          await served.close();
          await close();
          await proxy.close();
        }
      });
    }
  });
});
