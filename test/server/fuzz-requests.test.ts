import { randomBytes } from "node:crypto";
import { join } from "node:path";
import fc from "fast-check";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { generateKeySet } from "../../src/index.js";
import { postgresUsers } from "../../src/server/users-postgres.js";
import { sqliteUsers } from "../../src/server/users-sqlite.js";
import { memoryStore } from "../../src/stores/memory/index.js";
import { postgresStore } from "../../src/stores/postgres/index.js";
import { sqliteStore } from "../../src/stores/sqlite/index.js";
import { dropPostgresTables, POSTGRES_URL } from "../helpers/backends.js";
import {
  endedViolations,
  fuzzParameters,
  fuzzTimeout,
  isUnsafe,
  leakViolations,
  problemViolations,
  report,
} from "../helpers/fuzz-oracle.js";
import {
  authViolations,
  exchange,
  type Reference,
  referenceApp,
  STRATEGIES,
} from "../helpers/reference-target.js";
import {
  bearer,
  live,
  plainRequest,
  type RequestShape,
  requestArb,
} from "../helpers/request-arbitrary.js";
import { renderRequest } from "../helpers/request-render.js";
import { serviceAvailable } from "../helpers/services.js";
import { tempDir } from "../helpers/tmp.js";

// The reference server's app in process, fuzzed with requests shaped after its own route table
// and carrying real tokens of every strategy (test/helpers/request-arbitrary.ts); what its
// answers must never be is in test/helpers/reference-target.ts and fuzz-oracle.ts.
const pgUp = await serviceAvailable("PostgreSQL", 5432);

/** Requests that must succeed; the fuzzer runs them first, so every run reaches signed-in states. */
const WELL_FORMED: RequestShape[] = [
  ...STRATEGIES.flatMap((s) => [
    plainRequest("GET", `/api/${s}/me`, { cookies: [[{ jar: live(s) }]] }),
    plainRequest("GET", `/api/${s}/sessions`, { auth: [bearer(live(s, "token", "header"))] }),
    plainRequest("POST", `/api/${s}/logout`, {
      cookies: [[{ jar: live(s) }]],
      site: "same-origin",
    }),
  ]),
  plainRequest("POST", "/api/hybrid/refresh", {
    body: {
      json: [["refreshToken", { str: { token: { ref: live("hybrid", "refresh", "header") } } }]],
    },
  }),
  plainRequest("POST", "/api/id/login", {
    origin: "allowed",
    body: {
      json: [
        ["username", { str: { user: "attacker", variant: "exact" } }],
        ["password", { str: { password: "right" } }],
      ],
    },
  }),
];

async function fuzz(ref: Reference, runs: number) {
  const seen = new Map<string, number>();
  // A safe request changes no session (endedViolations checks it): new tokens are needed only
  // after an unsafe one, which may have ended or rotated them.
  let stale = true;
  await fc.assert(
    fc.asyncProperty(requestArb(ref.target), async (shape) => {
      // SQLite answers synchronously: without a turn of the event loop between runs, the
      // store's feed poller never runs and jwt verification rightly fails closed (503).
      await new Promise((resolve) => setImmediate(resolve));
      if (stale) await ref.pool.reseed();
      const r = renderRequest(shape, ref.target, ref.pool);
      const { answer, logs, problems, path } = await exchange(ref, r);
      stale = isUnsafe(r.method);
      const key = `${answer.status} ${/^\/api\/\w+\/(me|sessions)$/.test(path) ? path : ""}`;
      seen.set(key, (seen.get(key) ?? 0) + 1);
      if (problems.length > 0) throw report(problems, r, answer, logs);
    }),
    { ...fuzzParameters(runs), examples: WELL_FORMED.map((shape): [RequestShape] => [shape]) },
  );
  return seen;
}

/** The fuzzer reached what it must: signed-in answers of every strategy, and refusals. */
function expectCoverage(seen: Map<string, number>) {
  for (const s of STRATEGIES) {
    const ok = (seen.get(`200 /api/${s}/me`) ?? 0) + (seen.get(`200 /api/${s}/sessions`) ?? 0);
    expect(ok, `signed-in answers on /api/${s}`).toBeGreaterThan(0);
  }
  for (const status of ["401", "403", "400", "404"]) {
    expect(
      [...seen.keys()].some((k) => k.startsWith(status)),
      `some ${status}`,
    ).toBe(true);
  }
}

describe("request fuzzing: the reference server's routes with real and hostile tokens", () => {
  it(
    "on SQLite (HS256 keys, behind one proxy): never 5xx, problem+json 4xx, no access or state change without a live token and same-origin proof, no secret shown",
    async () => {
      const dir = tempDir();
      const store = sqliteStore({ path: join(dir, "db.sqlite") });
      const users = sqliteUsers(join(dir, "db.sqlite"));
      const ref = await referenceApp(store, users, generateKeySet("HS256"), { trustProxy: 1 });
      try {
        expectCoverage(await fuzz(ref, 300));
      } finally {
        ref.close();
        await store.close();
        users.close();
      }
    },
    fuzzTimeout(300, 120_000),
  );

  it.skipIf(!pgUp)(
    "on PostgreSQL users and sessions (EdDSA keys): the same properties",
    async () => {
      const prefix = `fuzz_${process.pid}_${randomBytes(3).toString("hex")}_`;
      const store = postgresStore({ connectionString: POSTGRES_URL, tablePrefix: prefix });
      const users = postgresUsers(pg, POSTGRES_URL, prefix);
      const ref = await referenceApp(store, users, generateKeySet("EdDSA"));
      try {
        expectCoverage(await fuzz(ref, 200));
      } finally {
        ref.close();
        await store.close();
        users.close();
        await dropPostgresTables(prefix);
      }
    },
    fuzzTimeout(200, 120_000),
  );
});

describe("the fuzz properties themselves", () => {
  it("find nothing wrong with well-formed requests, which succeed", async () => {
    const ref = await referenceApp(memoryStore(), sqliteUsers(":memory:"), generateKeySet());
    try {
      for (const shape of WELL_FORMED) {
        await ref.pool.reseed();
        const r = renderRequest(shape, ref.target, ref.pool);
        const { answer, problems } = await exchange(ref, r);
        expect(problems, `${r.method} ${r.path}`).toEqual([]);
        expect(answer.status, `${r.method} ${r.path}`).toBeLessThan(300);
      }
    } finally {
      ref.close();
    }
  });

  it("report a 200 for a revoked or mutated token, a session ended without proof, the victim's session ended, a token in an error, a 4xx that is not problem+json", async () => {
    const ref = await referenceApp(memoryStore(), sqliteUsers(":memory:"), generateKeySet());
    try {
      const { pool, target } = ref;
      await pool.reseed();
      const render = (shape: RequestShape) => renderRequest(shape, target, pool);
      const ok = { status: 200, headers: new Headers(), body: "{}" };
      const revoked = render(
        plainRequest("GET", "/api/id/me", {
          cookies: [
            [
              {
                kind: "session",
                variant: "exact",
                quote: false,
                value: { ref: { ...live("id"), age: "revoked" } },
              },
            ],
          ],
        }),
      );
      expect(authViolations(ref, revoked, ok)).toEqual([
        "/api/id/me answered 200 without a live id token",
      ]);
      const flipped = render(
        plainRequest("GET", "/api/jwt/sessions", {
          auth: [
            {
              scheme: "Bearer",
              gap: " ",
              tail: "",
              token: { ref: live("jwt", "token", "header"), mutation: "flip", at: 500 },
            },
          ],
        }),
      );
      expect(authViolations(ref, flipped, ok)).toHaveLength(1);
      const token = pool.token(live("hybrid"));
      expect(leakViolations({ ...ok, status: 401, body: token }, [], [], [token])).toHaveLength(1);
      expect(leakViolations(ok, [`error: ${token}`], [], [token])).toHaveLength(1);
      const text = {
        status: 404,
        headers: new Headers({ "content-type": "text/plain" }),
        body: "Not found",
      };
      expect(problemViolations(text, "GET")).toHaveLength(1);
      // A cross-site sign-out that nonetheless ended the session, and the victim's session ended.
      const crossSite = render(
        plainRequest("POST", "/api/id/logout", {
          cookies: [[{ jar: live("id") }]],
          site: "cross-site",
        }),
      );
      const mine = pool.liveSessions().find((e) => e.strategy === "id");
      const victims = pool.victimSessions().find((e) => e.strategy === "jwt");
      await pool.manager("id").revoke(mine?.sessionId ?? "");
      await pool.manager("jwt").revoke(victims?.sessionId ?? "");
      expect(await endedViolations(pool, target, crossSite, "id")).toEqual([
        "ended the victim's jwt session",
        `ended the attacker's id/${mine?.sessionId} session without a credential and same-origin proof`,
      ]);
    } finally {
      ref.close();
    }
  });
});

describe("found by the fuzzer", () => {
  it("a hybrid sign-out ends no session of another strategy: an id token in the refresh cookie", async () => {
    const ref = await referenceApp(memoryStore(), sqliteUsers(":memory:"), generateKeySet());
    try {
      await ref.pool.reseed();
      const idToken = ref.pool.token(live("id"));
      const r = renderRequest(
        plainRequest("POST", "/api/hybrid/logout", {
          cookies: [[{ raw: `${ref.target.cookies.refresh}=${idToken}` }]],
          site: "same-origin",
        }),
        ref.target,
        ref.pool,
      );
      const { answer, problems } = await exchange(ref, r);
      expect(problems).toEqual([]);
      expect(answer.status).toBe(401);
    } finally {
      ref.close();
    }
  });
});
