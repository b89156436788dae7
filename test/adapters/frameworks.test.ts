import { createServer, type RequestListener } from "node:http";
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import Fastify, { type FastifyInstance } from "fastify";
import { describe, expect, it } from "vitest";
import { sessionkit as fastifySessionkit } from "../../src/adapters/fastify.js";
import type { SessionManager } from "../../src/index.js";
import { createSessionManager } from "../../src/index.js";
import { memoryStore } from "../../src/stores/memory/index.js";
import { runAdapterScenarios } from "../../src/testing/index.js";

// Every adapter runs the one scenario suite, each through its example app in examples/.
type Fetch = (request: Request) => Response | Promise<Response>;
const example = async <T>(path: string): Promise<T> =>
  (await import(new URL(`../../examples/${path}`, import.meta.url).href)) as T;

async function listen(listener: RequestListener) {
  const server = createServer(listener);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function listenFetch(fetch: Fetch) {
  let url = "";
  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const s = serve({ fetch, port: 0, hostname: "127.0.0.1" }, (info) => {
      url = `http://127.0.0.1:${info.port}`;
      resolve(s);
    });
  });
  return { url, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

type AppOf<T> = { createApp(manager: SessionManager): T };

runAdapterScenarios("express", {
  serve: async (manager) =>
    listen((await example<AppOf<RequestListener>>("express/app.js")).createApp(manager)),
});

runAdapterScenarios("fastify", {
  async serve(manager) {
    const app = await (await example<AppOf<Promise<FastifyInstance>>>("fastify/app.js")).createApp(
      manager,
    );
    const url = await app.listen({ port: 0, host: "127.0.0.1" });
    return { url, close: () => app.close() };
  },
});

runAdapterScenarios("hono", {
  serve: async (manager) =>
    listenFetch((await example<AppOf<{ fetch: Fetch }>>("hono/app.js")).createApp(manager).fetch),
});

runAdapterScenarios("node:http", {
  serve: async (manager) =>
    listen((await example<AppOf<RequestListener>>("node-http/app.js")).createApp(manager)),
});

// Next.js route handlers are Fetch functions: here each one of examples/next gets a real
// Request for its path, as the App Router's file-system routing would give it
// (test/adapters/next.e2e.test.ts runs them inside Next.js itself).
runAdapterScenarios("next route handlers", {
  async serve(manager) {
    const { createRoutes } = await example<{
      createRoutes(m: SessionManager): Record<string, Record<string, Fetch>>;
    }>("next/lib/routes.js");
    const routes = createRoutes(manager);
    return listenFetch((request) => {
      const name = new URL(request.url).pathname.slice(1);
      const handler = routes[name]?.[request.method.toLowerCase()];
      return handler ? handler(request) : new Response("not found", { status: 404 });
    });
  },
});

describe("fastify plugin and encapsulation", () => {
  it("belongs to the context that registers it: sibling scopes have no request.session", async () => {
    const manager = createSessionManager({ strategy: "id", store: memoryStore(), cleanup: false });
    const app = Fastify();
    await app.register(async (scope) => {
      await scope.register(fastifySessionkit, { manager });
      scope.get("/inside", async (request) => ({ session: request.session }));
    });
    app.get("/outside", async (request) => ({ decorated: "session" in request }));
    const inside = await app.inject({ method: "GET", url: "/inside" });
    expect(inside.json()).toEqual({ session: null });
    const outside = await app.inject({ method: "GET", url: "/outside" });
    expect(outside.json()).toEqual({ decorated: false });
    await app.close();
    manager.close();
  });
});
