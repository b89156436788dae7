import { afterEach, describe, expect, it, vi } from "vitest";
import { generateKeySet, type SessionManager, type StrategyName } from "../../src/index.js";
import { createJwtSigner } from "../../src/tokens/index.js";
import { APP_ORIGIN, appClient, referenceApp, signedInClient } from "../helpers/app.js";

// Issue 15's demo features, attacked: the --lab feed pause, the side-by-side API, the token
// inspector's live check and own-token echo, the storage lab's copies, the home page's
// refresh-binding logic. The server may be deployed as it is: a default server (no --lab) must
// open nothing, and no input may get a 5xx.
const MAX_LAG = 120;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The reference app over a memory store; every manager's `authenticate` calls are counted. */
function demoApp(lab: boolean) {
  const made = referenceApp({ lab, maxLag: MAX_LAG }, { revocation: { maxLag: MAX_LAG } });
  const calls: Record<string, number> = { id: 0, jwt: 0, hybrid: 0 };
  for (const [name, manager] of Object.entries(made.managers) as Array<
    [StrategyName, SessionManager]
  >) {
    const authenticate = manager.authenticate;
    manager.authenticate = (request, options) => {
      calls[name] = (calls[name] ?? 0) + 1;
      return authenticate(request, options);
    };
  }
  return { ...made, calls };
}
type App = ReturnType<typeof demoApp>["app"];

/** A request with exactly these headers: no Origin unless given. */
const raw = (
  app: App,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string,
) =>
  app.request(`${APP_ORIGIN}${path}`, { method, headers, ...(body === undefined ? {} : { body }) });

const feedState = async (app: App) =>
  (await (await raw(app, "GET", "/api/strategies/feed", {})).json()) as {
    paused: boolean;
    held: number;
  };

describe("the --lab feed pause switch", () => {
  const off = demoApp(false);
  const lab = demoApp(true);
  afterEach(async () => {
    vi.useRealTimers();
    await appClient(lab.app).request("POST", "/api/strategies/feed", { paused: false });
  });

  it("does not exist without --lab: a pause is a 404 and the feed flows", async () => {
    const c = await signedInClient(off.app, "jwt");
    expect((await c.request("POST", "/api/strategies/feed", { paused: true })).status).toBe(404);
    expect((await feedState(off.app)).paused).toBe(false);
  });

  it("refuses a cross-site form post, a request without Origin and Sec-Fetch-Site: none (403)", async () => {
    const c = await signedInClient(lab.app, "id");
    const cookie = [...c.jar].map(([k, v]) => `${k}=${v}`).join("; ");
    const attempts: Array<Record<string, string>> = [
      { cookie, "content-type": "application/json" },
      { cookie, "content-type": "text/plain", origin: "https://evil.example" },
      { cookie, "content-type": "application/x-www-form-urlencoded", origin: "null" },
      { cookie, "content-type": "application/json", "sec-fetch-site": "none" },
      { cookie, "content-type": "application/json", "sec-fetch-site": "cross-site" },
      { cookie, "content-type": "application/json", origin: "http://app.test.evil.example" },
    ];
    for (const headers of attempts) {
      const r = await raw(lab.app, "POST", "/api/strategies/feed", headers, '{"paused":true}');
      expect(r.status, JSON.stringify(headers)).toBe(403);
    }
    expect((await feedState(lab.app)).paused).toBe(false);
  });

  it("cannot be paused by an anonymous request: holding revocations back for everyone takes a session", async () => {
    const anonymous = appClient(lab.app); // same Origin header, as any script outside a browser sends
    const r = await anonymous.request("POST", "/api/strategies/feed", { paused: true });
    expect(r.status).toBe(401);
    expect((await feedState(lab.app)).paused).toBe(false);
  });

  it("lets anyone resume, the safe direction, even a jwt user whose token fails closed", async () => {
    const c = await signedInClient(lab.app, "jwt");
    expect((await c.request("POST", "/api/strategies/feed", { paused: true })).status).toBe(200);
    await sleep(MAX_LAG + 30);
    expect((await c.request("GET", "/api/jwt/me")).status).toBe(503);
    const resume = await appClient(lab.app).request("POST", "/api/strategies/feed", {
      paused: false,
    });
    expect(resume.status).toBe(200);
    expect((await feedState(lab.app)).paused).toBe(false);
    expect((await c.request("GET", "/api/jwt/me")).status).toBe(200);
  });

  it("resumes by itself 120 s after the first pause: pausing again does not push that back", async () => {
    const c = await signedInClient(lab.app, "id");
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    expect((await c.request("POST", "/api/strategies/feed", { paused: true })).status).toBe(200);
    vi.advanceTimersByTime(100_000);
    expect((await c.request("POST", "/api/strategies/feed", { paused: true })).status).toBe(200);
    vi.advanceTimersByTime(25_000);
    expect((await feedState(lab.app)).paused).toBe(false);
  });

  it("fails closed, never open: a revoked jwt works only until maxLag, then 503, and is refused after resume", async () => {
    const victim = await signedInClient(lab.app, "jwt");
    const other = await signedInClient(lab.app, "jwt");
    const token = victim.jar.get(lab.managers.jwt.cookieNames.jwt) as string;
    expect((await victim.request("POST", "/api/strategies/feed", { paused: true })).status).toBe(
      200,
    );
    expect((await victim.request("POST", "/api/jwt/logout")).status).toBeLessThan(300);
    const stolen = appClient(lab.app);
    stolen.jar.set(lab.managers.jwt.cookieNames.jwt, token);
    expect((await stolen.request("GET", "/api/jwt/me")).status).toBe(200); // inside maxLag: the demo's point
    expect((await feedState(lab.app)).held).toBe(1);
    await sleep(MAX_LAG + 30);
    for (const c of [stolen, other])
      expect((await c.request("GET", "/api/jwt/me")).status).toBe(503);
    await other.request("POST", "/api/strategies/feed", { paused: false });
    expect((await stolen.request("GET", "/api/jwt/me")).status).toBe(401);
    expect((await other.request("GET", "/api/jwt/me")).status).toBe(200);
    expect((await feedState(lab.app)).held).toBe(0);
  });
});

describe("the side-by-side API under bad input", () => {
  const { app, calls, logged } = demoApp(false);

  it("answers a strategy it does not serve with 400: prototype names, case, repeats, none", async () => {
    const c = await signedInClient(app, "id");
    for (const q of [
      "__proto__",
      "toString",
      "constructor",
      "hasOwnProperty",
      "",
      "ID",
      "id%00",
      "id&strategy=jwt",
    ]) {
      const r = await c.request("GET", `/api/strategies/check?strategy=${q}`);
      expect(r.status === 200 || r.status === 400, q).toBe(true);
    }
    for (const q of ["__proto__", "toString", "constructor", "", "ID"]) {
      const r = await c.request("GET", `/api/strategies/check?strategy=${encodeURIComponent(q)}`);
      expect(r.status, q).toBe(400);
    }
    expect((await c.request("GET", "/api/strategies/check")).status).toBe(400);
    const bodies = [
      "null",
      "[]",
      '"id"',
      '{"strategy":{}}',
      '{"strategy":"__proto__"}',
      '{"strategy":["id"]}',
      "{",
      `{"strategy":"${"x".repeat(200_000)}"}`,
    ];
    for (const body of bodies) {
      const r = await c.request("POST", "/api/strategies/revoke", body);
      expect(r.status, body.slice(0, 40)).toBeGreaterThanOrEqual(400);
      expect(r.status, body.slice(0, 40)).toBeLessThan(500);
    }
    expect(logged.filter((l) => l.startsWith("error"))).toEqual([]);
  });

  it("answers 30 concurrent revokes of one session at once, with no 5xx and no 3 s wait", async () => {
    for (const strategy of ["jwt", "hybrid"] as const) {
      const c = await signedInClient(app, strategy);
      const start = performance.now();
      const answers = await Promise.all(
        Array.from({ length: 30 }, () => c.request("POST", "/api/strategies/revoke", { strategy })),
      );
      expect(performance.now() - start, strategy).toBeLessThan(1500);
      const statuses = answers.map((r) => r.status);
      expect(
        statuses.every((s) => s === 200 || s === 401),
        statuses.join(),
      ).toBe(true);
      expect(statuses).toContain(200);
    }
  });

  it("spends a bounded number of verifications on back-to-back state requests (no 100x amplification)", async () => {
    const c = appClient(app);
    const body = { username: "amplifier", password: "correct horse battery" };
    expect((await c.request("POST", "/api/users", body)).status).toBe(201);
    for (const s of ["id", "jwt", "hybrid"]) {
      expect((await c.request("POST", `/api/${s}/login`, body)).status).toBe(200);
    }
    expect((await c.request("GET", "/api/strategies/state")).status).toBe(200);
    const before = { ...calls };
    for (let i = 0; i < 10; i++) {
      const r = await c.request("GET", "/api/strategies/state");
      expect(r.status).toBe(200);
      const state = (await r.json()) as Record<string, { medianMicros: number | null }>;
      expect(typeof state.jwt?.medianMicros).toBe("number");
    }
    // Ten requests, three strategies: a few verifications each, not 2 x 51 every time.
    for (const s of ["id", "jwt", "hybrid"]) {
      expect((calls[s] ?? 0) - (before[s] ?? 0), s).toBeLessThan(10 * 10);
    }
  });
});

describe("the token inspector", () => {
  const off = demoApp(false);
  const lab = demoApp(true);

  it("echoes this browser's token only with --lab, only to a same-origin fetch, never cached", async () => {
    const c = await signedInClient(lab.app, "jwt");
    const cookie = [...c.jar].map(([k, v]) => `${k}=${v}`).join("; ");
    for (const site of [
      null,
      "same-site",
      "cross-site",
      "none",
      "SAME-ORIGIN",
      "same-origin, cross-site",
    ]) {
      const r = await raw(lab.app, "GET", "/api/inspect/my-token", {
        cookie,
        origin: APP_ORIGIN,
        ...(site === null ? {} : { "sec-fetch-site": site }),
      });
      expect(r.status, String(site)).toBe(403);
    }
    const ok = await raw(lab.app, "GET", "/api/inspect/my-token", {
      cookie,
      "sec-fetch-site": "same-origin",
    });
    expect(ok.status).toBe(200);
    expect(ok.headers.get("cache-control")).toBe("no-store");
    const signedOut = await raw(lab.app, "GET", "/api/inspect/my-token", {
      "sec-fetch-site": "same-origin",
    });
    expect(signedOut.status).toBe(401);
    const without = await signedInClient(off.app, "jwt");
    const r = await without.request("GET", "/api/inspect/my-token", undefined, {
      "sec-fetch-site": "same-origin",
    });
    expect(r.status).toBe(404);
  });

  it("looks a session up only for a token this server signed: a forged one naming a live session learns nothing", async () => {
    const victim = await signedInClient(off.app, "jwt");
    const me = (await (await victim.request("GET", "/api/jwt/me")).json()) as {
      session: { id: string };
    };
    const sid = me.session.id;
    const now = Math.floor(Date.now() / 1000);
    const claims = {
      iss: APP_ORIGIN,
      aud: `${APP_ORIGIN}/api/jwt`,
      sub: "x",
      sid,
      iat: now - 7200,
      exp: now - 3600,
    };
    const stranger = createJwtSigner(generateKeySet());
    const part = (v: object) => Buffer.from(JSON.stringify(v)).toString("base64url");
    const forged = [
      stranger.sign(claims),
      stranger.sign({ ...claims, exp: now + 3600 }),
      `${part({ alg: "none", typ: "JWT" })}.${part(claims)}.`,
      `${part({ alg: "HS256", typ: "JWT", kid: "nope" })}.${part(claims)}.AAAA`,
    ];
    const inspect = async (token: string) => {
      const r = await appClient(off.app).request("POST", "/api/inspect", { token });
      expect(r.status).toBe(200);
      expect(r.headers.get("cache-control")).toBe("no-store");
      return (await r.json()) as { session: { live: boolean | null }; server: { ok: boolean } };
    };
    for (const token of forged) expect((await inspect(token)).session.live, token).toBeNull();
    // The server's own signature (an expired token of its key counts): the holder's own session.
    const own = createJwtSigner(off.keys);
    expect((await inspect(own.sign(claims))).session.live).toBe(true);
    const victimToken = victim.jar.get(off.managers.jwt.cookieNames.jwt) as string;
    expect((await inspect(victimToken)).session.live).toBe(true);
  });
});

describe("the storage lab", () => {
  const off = demoApp(false);
  const lab = demoApp(true);

  it("hands copies that only /api/lab/me accepts, never the real /api/*/me", async () => {
    for (const strategy of ["id", "jwt", "hybrid"] as const) {
      const c = await signedInClient(lab.app, strategy);
      const copy = await c.request("POST", "/api/lab/copy");
      expect(copy.status, strategy).toBe(200);
      const { token } = (await copy.json()) as { token: string };
      const bearer = { authorization: `Bearer ${token}` };
      expect((await raw(lab.app, "GET", "/api/lab/me", bearer)).status, strategy).toBe(200);
      for (const route of ["id", "jwt", "hybrid"] as const) {
        const r = await raw(lab.app, "GET", `/api/${route}/me`, bearer);
        expect(r.status, `${strategy} copy at /api/${route}/me`).toBe(401);
        const asCookie = appClient(lab.app);
        asCookie.jar.set(
          lab.managers[route].cookieNames[
            route === "id" ? "session" : route === "jwt" ? "jwt" : "access"
          ],
          token,
        );
        expect(
          (await asCookie.request("GET", `/api/${route}/me`)).status,
          `${strategy} copy as ${route} cookie`,
        ).toBe(401);
      }
    }
  });

  it("refuses a cross-site Remove; one user's Remove leaves another's copies alone", async () => {
    const alice = await signedInClient(lab.app, "jwt");
    const bob = await signedInClient(lab.app, "id");
    const { token } = (await (await alice.request("POST", "/api/lab/copy")).json()) as {
      token: string;
    };
    const me = () => raw(lab.app, "GET", "/api/lab/me", { authorization: `Bearer ${token}` });
    const cookie = [...alice.jar].map(([k, v]) => `${k}=${v}`).join("; ");
    for (const headers of [
      { cookie, origin: "https://evil.example" } as Record<string, string>,
      { cookie },
      { cookie, "sec-fetch-site": "cross-site" },
    ]) {
      expect((await raw(lab.app, "DELETE", "/api/lab/copy", headers)).status).toBe(403);
    }
    expect((await bob.request("DELETE", "/api/lab/copy")).status).toBe(200);
    expect((await me()).status).toBe(200);
    expect((await alice.request("DELETE", "/api/lab/copy")).status).toBe(200);
    expect((await me()).status).toBe(401);
  });

  it("is not there without --lab, and takes junk Authorization headers as a 401", async () => {
    const c = await signedInClient(off.app, "id");
    for (const [method, path] of [
      ["POST", "/api/lab/copy"],
      ["DELETE", "/api/lab/copy"],
      ["POST", "/api/lab/copy-bound"],
      ["GET", "/api/lab/me"],
      ["POST", "/api/lab/attacker"],
    ]) {
      expect((await c.request(method as string, path as string)).status, path).toBe(404);
    }
    for (const authorization of [
      "Bearer",
      "Bearer a.b.c",
      "Bearer a.%%%.c",
      `Bearer x.${Buffer.from('{"aud":1}').toString("base64url")}.y`,
      "DPoP a.b.c",
      `Bearer ${"a".repeat(10_000)}`,
      "Basic Zm9vOmJhcg==",
    ]) {
      const r = await raw(lab.app, "GET", "/api/lab/me", { authorization });
      expect(r.status, authorization.slice(0, 30)).toBe(401);
    }
    expect(lab.logged.filter((l) => l.startsWith("error"))).toEqual([]);
  });
});

describe("the home page's refresh binding", () => {
  const { app, managers } = demoApp(false);
  const configOf = (page: string) => {
    const m = /data-config="([^"]*)"/.exec(page);
    return JSON.parse(
      (m?.[1] ?? "{}").replaceAll("&quot;", '"').replaceAll("&amp;", "&"),
    ) as Record<string, unknown>;
  };

  it("treats a forged binding naming another user's live session like junk: no refresh tried, nothing of that user shown", async () => {
    const victim = await signedInClient(app, "hybrid");
    const binding = victim.jar.get(managers.hybrid.cookieNames.refreshBinding) as string;
    const sid = binding.slice(0, binding.indexOf("."));
    const forged = `${sid}.${"A".repeat(binding.length - sid.length - 1)}`;
    const name = managers.hybrid.cookieNames.refreshBinding;
    const junk = await raw(app, "GET", "/", { cookie: `${name}=nosuchsession.${"A".repeat(43)}` });
    const probe = await raw(app, "GET", "/", { cookie: `${name}=${forged}` });
    expect(probe.status).toBe(200);
    const page = await probe.text();
    expect(page).not.toContain(victim.username);
    // The page must not tell a live session id from a dead one without the binding's MAC.
    expect(configOf(page)).toEqual(configOf(await junk.text()));
  });

  it("clears the refresh cookies with the attributes they were set with", async () => {
    const name = managers.hybrid.cookieNames;
    const r = await raw(app, "GET", "/", { cookie: `${name.refreshBinding}=junk.value` });
    const cleared = r.headers.getSetCookie();
    const rt = cleared.find((c) => c.startsWith(`${name.refresh}=;`));
    const rtb = cleared.find((c) => c.startsWith(`${name.refreshBinding}=;`));
    expect(rt).toMatch(/Path=\/api\/hybrid\/refresh/);
    expect(rtb).toMatch(/Path=\/(;|$)/);
    for (const c of [rt, rtb]) {
      expect(c).toMatch(/Max-Age=0/);
      expect(c).toMatch(/Secure/);
      expect(c).toMatch(/HttpOnly/);
    }
  });
});
