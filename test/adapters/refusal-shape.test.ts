import { createServer, type RequestListener } from "node:http";
import type { AddressInfo } from "node:net";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sessionErrorResponse, signIn } from "../../src/adapters/fetch.js";
import { signIn as nextSignIn } from "../../src/adapters/next.js";
import { createSessionManager, type SessionManager } from "../../src/index.js";
import { memoryStore } from "../../src/stores/memory/index.js";
import { switchableStore } from "../../src/testing/adapter-scenarios.js";

// One refusal, one answer: a cross-site sign-in (login CSRF) and a sign-in while the store is
// down get the same status, content type and problem+json body from every adapter: Express,
// Fastify, Hono and node:http as their examples in examples/ are written, fetch and Next.js
// route handlers here. (Fastify answered with its own JSON error shape,
// {"statusCode":403,"code":"CSRF_FAILED","error":"Forbidden",...}, before the plugin did.)
const ORIGIN = "https://app.example";
const EVIL = "https://evil.example";

// A memory store that can be cut off, as an unreachable backend is (STORE_UNAVAILABLE).
const { store, state } = switchableStore(memoryStore());
const manager = createSessionManager({
  strategy: "id",
  store,
  cleanup: false,
  csrf: { origins: [ORIGIN] },
});

type AppOf<T> = { createApp(manager: SessionManager): T };
const example = async <T>(path: string): Promise<T> =>
  (await import(new URL(`../../examples/${path}`, import.meta.url).href)) as T;

type Send = (path: string, init: RequestInit) => Promise<Response>;
const closers: Array<() => Promise<void>> = [];

async function overHttp(listener: RequestListener): Promise<Send> {
  const server = createServer(listener);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  closers.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return (path, init) => fetch(base + path, init);
}

// The fetch adapter as a Fetch-API app (Bun, Deno, route handlers) writes it: its signIn, and
// sessionErrorResponse for what it throws.
async function fetchApp(request: Request): Promise<Response> {
  try {
    const { session, headers } = await signIn(manager, request, { userId: "u-alice" });
    return Response.json({ userId: session.userId }, { headers });
  } catch (error) {
    const answer = sessionErrorResponse(error);
    if (answer) return answer;
    throw error;
  }
}

const targets: Record<string, Send> = {};
beforeAll(async () => {
  targets.express = await overHttp(
    (await example<AppOf<RequestListener>>("express/app.js")).createApp(manager),
  );
  targets["node:http"] = await overHttp(
    (await example<AppOf<RequestListener>>("node-http/app.js")).createApp(manager),
  );
  const fastify = await (
    await example<AppOf<Promise<FastifyInstance>>>("fastify/app.js")
  ).createApp(manager);
  const fastifyBase = await fastify.listen({ port: 0, host: "127.0.0.1" });
  closers.push(() => fastify.close());
  targets.fastify = (path, init) => fetch(fastifyBase + path, init);
  const hono = (await example<AppOf<{ request: Send }>>("hono/app.js")).createApp(manager);
  targets.hono = async (path, init) => hono.request(path, init);
  targets.fetch = async (path, init) => fetchApp(new Request(`${ORIGIN}${path}`, init));
  // Next.js route handlers: the adapter's signIn answers the refusal itself.
  targets.next = async (path, init) =>
    nextSignIn(manager, new Request(`${ORIGIN}${path}`, init), { userId: "u-alice" });
});
afterAll(async () => {
  await Promise.all(closers.map((close) => close()));
  manager.close();
});

interface Answer {
  status: number;
  contentType: string | null;
  cacheControl: string | null;
  retryAfter: string | null;
  setCookie: string[];
  body: unknown;
}

async function answersOf(init: RequestInit): Promise<Record<string, Answer>> {
  const out: Record<string, Answer> = {};
  for (const [name, send] of Object.entries(targets)) {
    const response = await send("/login", init);
    out[name] = {
      status: response.status,
      contentType: response.headers.get("content-type"),
      cacheControl: response.headers.get("cache-control"),
      retryAfter: response.headers.get("retry-after"),
      setCookie: response.headers.getSetCookie(),
      body: JSON.parse(await response.text()),
    };
  }
  return out;
}

const login = (headers: Record<string, string>): RequestInit => ({
  method: "POST",
  headers: { "content-type": "application/json", ...headers },
  body: JSON.stringify({ username: "alice", password: "wonderland" }),
});

describe("every adapter answers a refused sign-in alike", () => {
  it("the adapters under test are the six", () => {
    expect(Object.keys(targets).sort()).toEqual([
      "express",
      "fastify",
      "fetch",
      "hono",
      "next",
      "node:http",
    ]);
  });

  it("cross-site sign-in: 403 problem+json, code csrf_failed, no cookie", async () => {
    const answers = await answersOf(login({ origin: EVIL }));
    const expected: Answer = {
      status: 403,
      contentType: "application/problem+json",
      cacheControl: "no-store",
      retryAfter: null,
      setCookie: [],
      body: { type: "about:blank", title: expect.any(String), status: 403, code: "csrf_failed" },
    };
    for (const [name, answer] of Object.entries(answers)) expect(answer, name).toEqual(expected);
    // Byte for byte the same body everywhere, the title included.
    expect(new Set(Object.values(answers).map((a) => JSON.stringify(a.body))).size).toBe(1);
    expect(await manager.list("u-alice")).toEqual([]);
  });

  it("sign-in while the store is down: 503 problem+json, Retry-After: 1", async () => {
    state.down = true;
    let answers: Record<string, Answer>;
    try {
      answers = await answersOf(login({ origin: ORIGIN }));
    } finally {
      state.down = false;
    }
    for (const [name, answer] of Object.entries(answers)) {
      expect(answer, name).toEqual({
        status: 503,
        contentType: "application/problem+json",
        cacheControl: "no-store",
        retryAfter: "1",
        setCookie: [],
        body: {
          type: "about:blank",
          title: expect.any(String),
          status: 503,
          code: "store_unavailable",
        },
      });
    }
    expect(new Set(Object.values(answers).map((a) => JSON.stringify(a.body))).size).toBe(1);
  });

  it("a same-origin sign-in still signs in everywhere (the refusals are not blanket)", async () => {
    const answers = await answersOf(login({ origin: ORIGIN }));
    for (const [name, answer] of Object.entries(answers)) {
      expect(answer.status, name).toBe(200);
      expect(answer.body, name).toEqual({ userId: "u-alice" });
      expect(answer.setCookie.length, name).toBeGreaterThan(0);
    }
  });
});

describe("fastify: the plugin's error handling leaves the application's own", () => {
  it("other errors reach the scope's setErrorHandler, set after the plugin, without a warning", async () => {
    const { default: Fastify } = await import("fastify");
    const { sessionkit } = await import("../../src/adapters/fastify.js");
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(warning.message);
    process.on("warning", onWarning);
    const app = Fastify();
    try {
      await app.register(sessionkit, { manager });
      app.setErrorHandler((error, _request, reply) =>
        reply.code(418).send({ mine: (error as Error).message }),
      );
      app.get("/boom", async () => {
        throw new Error("boom");
      });
      app.post("/login", async (_request, reply) => {
        await reply.signIn({ userId: "u-alice" });
        return { ok: true };
      });
      const boom = await app.inject({ method: "GET", url: "/boom" });
      expect(boom.statusCode).toBe(418);
      expect(boom.json()).toEqual({ mine: "boom" });
      const refused = await app.inject({
        method: "POST",
        url: "/login",
        headers: { origin: EVIL },
      });
      expect(refused.statusCode).toBe(403);
      expect(refused.headers["content-type"]).toBe("application/problem+json");
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings).toEqual([]);
    } finally {
      process.off("warning", onWarning);
      await app.close();
    }
  });
});
