import { createServer, request as httpRequest, type RequestListener } from "node:http";
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import fc from "fast-check";
import type { FastifyInstance } from "fastify";
import { describe, expect, it } from "vitest";
import { createSessionManager, generateKeySet, type SessionManager } from "../../src/index.js";
import { memoryStore } from "../../src/stores/memory/index.js";
import { SCENARIO_ORIGIN } from "../../src/testing/index.js";
import {
  type Answer,
  endedViolations,
  fuzzParameters,
  fuzzTimeout,
  isUnsafe,
  leakViolations,
  presentsLive,
  report,
  sameOriginProof,
} from "../helpers/fuzz-oracle.js";
import { TokenPool } from "../helpers/fuzz-pool.js";
import {
  bearer,
  live,
  plainRequest,
  type RequestShape,
  requestArb,
  type Strategy,
  type Target,
} from "../helpers/request-arbitrary.js";
import { type RenderedRequest, renderRequest } from "../helpers/request-render.js";

// Every adapter, through the example app that the adapter scenario suite also runs, fuzzed over
// real HTTP with the requests of test/helpers/request-arbitrary.ts: one server per strategy.
type Fetch = (request: Request) => Response | Promise<Response>;
type Served = { url: string; close(): Promise<void> };
type AppOf<T> = { createApp(manager: SessionManager): T };
const example = async <T>(path: string): Promise<T> =>
  (await import(new URL(`../../examples/${path}`, import.meta.url).href)) as T;

async function listen(listener: RequestListener): Promise<Served> {
  const server = createServer(listener);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
async function listenFetch(fetch: Fetch): Promise<Served> {
  let url = "";
  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const s = serve({ fetch, port: 0, hostname: "127.0.0.1" }, (info) => {
      url = `http://127.0.0.1:${info.port}`;
      resolve(s);
    });
  });
  return { url, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

const ADAPTERS: Record<string, (manager: SessionManager) => Promise<Served>> = {
  express: async (m) =>
    listen((await example<AppOf<RequestListener>>("express/app.js")).createApp(m)),
  fastify: async (m) => {
    const app = await (await example<AppOf<Promise<FastifyInstance>>>("fastify/app.js")).createApp(
      m,
    );
    return { url: await app.listen({ port: 0, host: "127.0.0.1" }), close: () => app.close() };
  },
  hono: async (m) =>
    listenFetch((await example<AppOf<{ fetch: Fetch }>>("hono/app.js")).createApp(m).fetch),
  node: async (m) =>
    listen((await example<AppOf<RequestListener>>("node-http/app.js")).createApp(m)),
  "fetch (Next.js route handlers)": async (m) => {
    const { createRoutes } = await example<{
      createRoutes(m: SessionManager): Record<string, Record<string, Fetch>>;
    }>("next/lib/routes.js");
    const routes = createRoutes(m);
    return listenFetch((request) => {
      const route = routes[new URL(request.url).pathname.slice(1)];
      const handler = route?.[request.method.toLowerCase()];
      return handler ? handler(request) : new Response("not found", { status: 404 });
    });
  },
};

/** The request on the wire as it is: header lines in order, repeats kept (node:http). */
function send(base: string, r: RenderedRequest): Promise<Answer> {
  const { hostname, port } = new URL(base);
  // Given a list, Node adds neither Host nor Content-Length. The true length always: a false
  // one would only desynchronise the connection.
  const headers = [
    "host",
    `${hostname}:${port}`,
    ...r.headers.filter(([k]) => k !== "content-length").flat(),
  ];
  if (r.body) headers.push("content-length", String(r.body.byteLength));
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { hostname, port, method: r.method, path: r.path, headers, timeout: 5000, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const h = new Headers();
          for (let i = 0; i < res.rawHeaders.length; i += 2)
            h.append(res.rawHeaders[i] ?? "", res.rawHeaders[i + 1] ?? "");
          resolve({
            status: res.statusCode ?? 0,
            headers: h,
            body: Buffer.concat(chunks).toString("utf8"),
          });
        });
      },
    );
    req.on("timeout", () => req.destroy(new Error("no answer within 5 s")));
    req.on("error", reject);
    req.end(r.body ? Buffer.from(r.body) : undefined);
  });
}

const STRATEGIES: Strategy[] = ["id", "jwt", "hybrid"];
// The scenario suite's routes; sign-in (a slow scrypt check in the examples) less often.
const ROUTES = [
  { method: "GET", path: "/me" },
  { method: "GET", path: "/me" },
  { method: "POST", path: "/logout" },
  { method: "POST", path: "/logout" },
  { method: "POST", path: "/login" },
];

type Case = { s: Strategy; shape: RequestShape };
/** Requests that must succeed on every server; run first, so every run reaches signed-in states. */
const signInBody: RequestShape["body"] = {
  json: [
    ["username", { str: { user: "attacker", variant: "exact" } }],
    ["password", { str: { password: "right" } }],
  ],
};
const WELL_FORMED: Case[] = STRATEGIES.flatMap((s) => [
  { s, shape: plainRequest("GET", "/me", { cookies: [[{ jar: live(s) }]] }) },
  { s, shape: plainRequest("GET", "/me", { auth: [bearer(live(s, "token", "header"))] }) },
  {
    s,
    shape: plainRequest("POST", "/logout", { cookies: [[{ jar: live(s) }]], origin: "allowed" }),
  },
  { s, shape: plainRequest("POST", "/login", { origin: "allowed", body: signInBody }) },
]);

async function fuzzAdapter(serveWith: (manager: SessionManager) => Promise<Served>, runs: number) {
  const store = memoryStore();
  const keys = generateKeySet();
  const common = {
    store,
    keys,
    issuer: SCENARIO_ORIGIN,
    csrf: { origins: [SCENARIO_ORIGIN] },
    cleanup: false as const,
  };
  const aud = (s: Strategy) => `${SCENARIO_ORIGIN}/${s}`;
  const managers = {
    id: createSessionManager({ ...common, strategy: "id" }),
    jwt: createSessionManager({ ...common, strategy: "jwt", audience: aud("jwt") }),
    hybrid: createSessionManager({ ...common, strategy: "hybrid", audience: aud("hybrid") }),
  };
  const servers = new Map<Strategy, Served>();
  for (const s of STRATEGIES) servers.set(s, await serveWith(managers[s]));
  // alice / wonderland is the examples' one user (examples/users.js).
  const pool = new TokenPool({
    managers,
    attacker: { id: "u-alice", username: "alice" },
    victim: { id: "u-bob", username: "bob" },
    password: "wonderland",
    keys,
  });
  await pool.reseed();
  await pool.reseed();
  const names = managers.hybrid.cookieNames;
  const target: Target = {
    routes: ROUTES,
    strategies: STRATEGIES,
    cookies: {
      session: names.session,
      jwt: names.jwt,
      access: names.access,
      refresh: names.refresh,
      csrf: names.csrf,
    },
    origin: SCENARIO_ORIGIN,
  };
  const secrets = [...keys.keys.map((k) => k.k ?? ""), pool.password];
  const signedIn = new Map<Strategy, number>();
  let stale = true;
  try {
    await fc.assert(
      fc.asyncProperty(
        pick(STRATEGIES).chain((s) => requestArb(target, s).map((shape) => ({ s, shape }))),
        async ({ s, shape }) => {
          if (stale) await pool.reseed();
          const r = renderRequest(shape, target, pool);
          stale = isUnsafe(r.method);
          // No answer at all (reset, timeout) is a failure like a 5xx, reported with the request.
          const answer = await send(servers.get(s)?.url ?? "", r).catch(
            (e: Error): Answer => ({ status: 0, headers: new Headers(), body: String(e) }),
          );
          const path = new URL(`http://x${r.path}`).pathname;
          const ok = answer.status >= 200 && answer.status < 300;
          const problems = [
            ...(answer.status >= 500 || answer.status === 0 ? [`answered ${answer.status}`] : []),
            ...leakViolations(
              answer,
              [],
              [...secrets, ...pool.secretHashes()],
              [...pool.tokens(), ...pool.keySigned],
              r.path,
            ),
            // Each server has one manager; routing (case, trailing slash) is the framework's.
            ...(await endedViolations(pool, target, r, s)),
          ];
          if (
            ok &&
            answer.body.includes("u-alice") &&
            path !== "/login" &&
            !presentsLive(pool, target, r, s)
          )
            problems.push(
              `${s} server answered ${answer.status} with the user, without a live ${s} token`,
            );
          // Signed in: the answer names the user (an OPTIONS answer, say, does not).
          const signedInNow = ok && path === "/login" && answer.body.includes("u-alice");
          if (signedInNow && !sameOriginProof(r, target, new Set([pool.anonCsrf])))
            problems.push(`${s} server signed in without same-origin proof`);
          if (ok && path === "/me") signedIn.set(s, (signedIn.get(s) ?? 0) + 1);
          if (problems.length > 0) throw report(problems, r, answer, []);
        },
      ),
      { ...fuzzParameters<[Case]>(runs), examples: WELL_FORMED.map((c): [Case] => [c]) },
    );
  } finally {
    for (const served of servers.values()) await served.close();
    for (const m of Object.values(managers)) m.close();
  }
  return signedIn;
}
const pick = <T>(values: T[]) => fc.constantFrom(...values);

describe("request fuzzing: every adapter through its example app, one server per strategy", () => {
  for (const [name, serveWith] of Object.entries(ADAPTERS)) {
    it(
      `${name}: never 5xx on bad input, never signed in without a live token, no session ended without proof`,
      async () => {
        const signedIn = await fuzzAdapter(serveWith, 200);
        for (const s of STRATEGIES)
          expect(signedIn.get(s), `signed in with ${s}`).toBeGreaterThan(0);
      },
      fuzzTimeout(200, 60_000),
    );

    // Found by the fuzzer: examples/users.js turns the credentials into strings with String(),
    // which overflows the stack on a deeply nested array.
    it(`${name}: a sign-in whose username or password is a deeply nested array answers 4xx, not 500`, async () => {
      const manager = createSessionManager({
        strategy: "id",
        store: memoryStore(),
        cleanup: false,
        csrf: { origins: [SCENARIO_ORIGIN] },
      });
      const served = await serveWith(manager);
      try {
        const deep = `${"[".repeat(5000)}${"]".repeat(5000)}`;
        for (const body of [
          `{"username":${deep},"password":"x"}`,
          `{"username":"alice","password":${deep}}`,
        ]) {
          const answer = await send(served.url, {
            method: "POST",
            path: "/login",
            headers: [
              ["origin", SCENARIO_ORIGIN],
              ["content-type", "application/json"],
            ],
            body: new TextEncoder().encode(body),
          });
          expect(answer.status, body.slice(0, 20)).toBeGreaterThanOrEqual(400);
          expect(answer.status, body.slice(0, 20)).toBeLessThan(500);
        }
      } finally {
        await served.close();
        manager.close();
      }
    });
  }
});
