import { existsSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  applyNodeHeaders,
  deviceEndpoints,
  signIn,
  signOut,
  toRequestLike,
} from "../../src/adapters/node.js";
import { createSessionManager, type SessionManager } from "../../src/index.js";
import { memoryStore } from "../../src/stores/memory/index.js";
import { tempDir } from "../helpers/tmp.js";
import { localhostTls, onPath } from "./trusted-tls.js";

// The DBSC integration (`deviceBound` on an `id` manager, the node adapter's `deviceEndpoints`)
// against a real browser: Debian's Chromium with software keys in place of a TPM, signing in
// through a page of a small HTTPS server made with sessionkit in this file. Every request the
// server sees is recorded, so the assertions are about what the browser really sent.
// `test/dbsc/chromium.e2e.test.ts` checks src/dbsc alone with a hand-written server; this
// file checks the manager. The bound cookie lives the minimum refresh interval, 30 s: the
// file waits for it to lapse once, and every check after the lapse shares that wait.
// Without openssl, certutil or Chromium the tests are skipped with one line, except under
// CI=true, where that is a failure. DBSC_TRACE=1 prints the requests the server saw.
const CHROMIUM = "/usr/bin/chromium";
const missing = [
  existsSync(CHROMIUM) ? null : CHROMIUM,
  onPath("openssl") ? null : "openssl",
  onPath("certutil") ? null : "certutil (libnss3-tools)",
].filter((tool) => tool !== null);
if (missing.length > 0) {
  const message = `DBSC manager browser tests need ${missing.join(", ")}`;
  if (process.env.CI) throw new Error(`${message}, and CI requires them`);
  console.warn(`skipping: ${message}`);
}

const FEATURES = [
  "DeviceBoundSessions:ForceEnableForTesting/true", // no origin trial token needed
  "EnableBoundSessionCredentialsSoftwareKeysForManualTesting", // software keys, no TPM
].join(",");
const INTERVAL_S = 30; // deviceBound.refreshInterval: the minimum the manager accepts
const GRACE_MS = 2_000; // lifetimes.grace: how long a replaced cookie still counts
const LAPSE_MS = INTERVAL_S * 1000 + GRACE_MS + 1_500; // past the interval and the grace
const REGISTER = "/dbsc/register";
const REFRESH = "/dbsc/refresh";

/** One request the server saw, and what it answered. */
interface Seen {
  /** Arrival order. */
  n: number;
  /** Milliseconds since the server started, at arrival and at the answer. */
  arrived: number;
  answered: number;
  method: string;
  path: string;
  status: number;
  /** The session cookie's value the request carried. */
  cookie?: string;
  /** `Sec-Secure-Session-Id` (refresh). */
  sessionHeader?: string;
  /** Whether a `Secure-Session-Response` proof came with it. */
  proof: boolean;
  /** `Secure-Session-Skipped`, when the browser says it skipped a refresh for this request. */
  skipped?: string;
  /** The session cookie lines of the answer's `Set-Cookie`. */
  setCookie: string[];
  /** The answer's `Secure-Session-Challenge` and `Secure-Session-Registration`. */
  challenge?: string;
  registration?: string;
  /** Who the manager saw: the session and user, or why it refused. */
  session?: string;
  user?: string;
  reason?: string;
}

const html = (body: string) =>
  `<!doctype html><html><head><link rel="icon" href="data:,"><title>dbsc</title></head><body>${body}</body></html>`;

/** The application: a sign-in form, sign-out, a protected resource, and DBSC's two endpoints. */
function app(tls: { cert: Buffer; key: Buffer }) {
  const started = Date.now();
  const seen: Seen[] = [];
  const failures: Array<{ stage: string; sessionId: string | null; reason: string }> = [];
  let manager: SessionManager | null = null;
  let arrivals = 0;

  const withManager = (origin: string) => {
    manager = createSessionManager({
      strategy: "id",
      store: memoryStore(),
      cleanup: false,
      lifetimes: { grace: `${GRACE_MS / 1000}s` },
      csrf: { origins: [origin] },
      deviceBound: {
        registrationPath: REGISTER,
        refreshPath: REFRESH,
        refreshInterval: `${INTERVAL_S}s`,
      },
      events: { onDeviceBindingFailure: (failure) => failures.push(failure) },
    });
    return manager;
  };

  async function route(
    m: SessionManager,
    req: IncomingMessage,
    res: ServerResponse,
    body: string,
    entry: Seen,
  ) {
    const dbsc = deviceEndpoints(m);
    const url = new URL(req.url ?? "/", "https://localhost");
    res.setHeader("cache-control", "no-store");
    if (req.method === "GET" && url.pathname === "/") {
      const user = url.searchParams.get("user") ?? "";
      res.setHeader("content-type", "text/html");
      res.end(
        html(
          `<form method="post" action="/login"><input name="user" value="${user}"><button type="submit">Sign in</button></form>`,
        ),
      );
      return;
    }
    if (req.method === "POST" && url.pathname === "/login") {
      const userId = new URLSearchParams(body).get("user") ?? "";
      const session = await signIn(m, req, res, { userId, transport: "cookie" });
      entry.session = session.id;
      entry.user = session.userId ?? undefined;
      res.setHeader("content-type", "text/html");
      res.end(html(`<p>signed in as ${userId}</p>`));
      return;
    }
    if (req.method === "POST" && url.pathname === "/logout") {
      const revoked = await signOut(m, req, res);
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ revoked }));
      return;
    }
    if (req.method === "POST" && url.pathname === REGISTER) return dbsc.register(req, res);
    if (req.method === "POST" && url.pathname === REFRESH) return dbsc.refresh(req, res);
    if (req.method === "GET" && url.pathname === "/protected") {
      const result = await m.authenticate(toRequestLike(req));
      applyNodeHeaders(res, result.headers);
      res.setHeader("content-type", "application/json");
      res.setHeader("cache-control", "no-store");
      if (result.session) {
        entry.session = result.session.id;
        entry.user = result.session.userId ?? undefined;
        res.end(JSON.stringify({ session: result.session.id, user: result.session.userId }));
      } else {
        entry.reason = result.failure.reason;
        res.statusCode = result.failure.status;
        res.end(JSON.stringify({ reason: result.failure.reason }));
      }
      return;
    }
    res.statusCode = 404;
    res.end();
  }

  const server: Server = createServer(tls, (req, res) => {
    const chunks: Buffer[] = [];
    const m = manager;
    const name = m?.cookieNames.session ?? "";
    const header = (key: string) => {
      const value = req.headers[key];
      return Array.isArray(value) ? value.join(", ") : value;
    };
    const cookies = (header("cookie") ?? "").split(/;\s*/);
    const entry: Seen = {
      n: ++arrivals,
      arrived: Date.now() - started,
      answered: 0,
      method: req.method ?? "",
      path: new URL(req.url ?? "/", "https://localhost").pathname,
      status: 0,
      cookie: cookies.find((c) => c.startsWith(`${name}=`))?.slice(name.length + 1),
      sessionHeader: header("sec-secure-session-id"),
      proof: header("secure-session-response") !== undefined,
      skipped: header("secure-session-skipped"),
      setCookie: [],
    };
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const done = () => {
        const lines = res.getHeader("set-cookie") ?? [];
        entry.setCookie = (Array.isArray(lines) ? lines : [String(lines)]).filter((line) =>
          line.startsWith(`${name}=`),
        );
        const challenge = res.getHeader("secure-session-challenge");
        if (challenge !== undefined) entry.challenge = String(challenge);
        const registration = res.getHeader("secure-session-registration");
        if (registration !== undefined) entry.registration = String(registration);
        entry.status = res.statusCode;
        entry.answered = Date.now() - started;
        seen.push(entry);
      };
      if (!m) {
        res.statusCode = 503;
        res.end();
        done();
        return;
      }
      route(m, req, res, Buffer.concat(chunks).toString("utf8"), entry).then(done, (error) => {
        entry.reason = `threw: ${String(error)}`;
        if (!res.headersSent) res.statusCode = 500;
        res.end();
        done();
      });
    });
  });
  return { server, seen, failures, withManager, started };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
async function waitFor<T>(read: () => T | undefined, what: string, ms = 10_000): Promise<T> {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(50)) {
    const value = read();
    if (value !== undefined) return value;
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** The value a `Set-Cookie` line sets, and its `Max-Age`. */
const cookieValue = (line: string | undefined) => /^[^=]+=([^;]*)/.exec(line ?? "")?.[1];
const maxAgeOf = (line: string | undefined) => Number(/;\s*Max-Age=(\d+)/i.exec(line ?? "")?.[1]);

/** `GET /protected` from the page, as its script would: the status and what the server said. */
const protectedFrom = (page: Page) =>
  page.evaluate(() =>
    fetch("/protected").then(async (r) => ({
      status: r.status,
      body: (await r.json()) as { session?: string; user?: string; reason?: string },
    })),
  );

interface SignedIn {
  context: BrowserContext;
  page: Page;
  login: Seen;
  registration: Seen;
  /** The session cookie of the sign-in answer, and the bound one that replaced it. */
  loginCookie: string;
  boundCookie: string;
}

describe.skipIf(missing.length > 0)("DBSC through createSessionManager, in Chromium", () => {
  let browser: Browser;
  let origin: string;
  let state: ReturnType<typeof app>;
  let manager: SessionManager;
  let cookieName: string;
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    const dir = tempDir("sessionkit-dbsc-manager-");
    const home = join(dir, "home");
    state = app(localhostTls(dir, home));
    await new Promise<void>((resolve) => state.server.listen(0, "127.0.0.1", resolve));
    origin = `https://localhost:${(state.server.address() as AddressInfo).port}`;
    manager = state.withManager(origin);
    cookieName = manager.cookieNames.session;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        `--enable-features=${FEATURES}`,
      ],
      env: { ...process.env, HOME: home },
    });
  });
  afterAll(async () => {
    if (process.env.DBSC_TRACE && state) {
      for (const s of state.seen) console.log(JSON.stringify(s));
      console.log("binding failures", JSON.stringify(state.failures));
    }
    for (const context of contexts) await context.close().catch(() => {});
    await browser?.close();
    await new Promise((resolve) => state?.server.close(resolve));
  });

  const newContext = async () => {
    const context = await browser.newContext();
    contexts.push(context);
    return context;
  };
  const since = (n: number) => state.seen.filter((s) => s.n > n);
  const lastArrival = () => state.seen.reduce((max, s) => Math.max(max, s.n), 0);

  /** Signs `user` in through the form of a page, and waits for the browser's registration. */
  async function signInThroughPage(user: string): Promise<SignedIn> {
    const context = await newContext();
    const page = await context.newPage();
    await page.goto(`${origin}/?user=${user}`);
    const from = lastArrival();
    const answered = page.waitForResponse((r) => r.url() === `${origin}/login`);
    await page.click("button");
    expect((await answered).status()).toBe(200);
    const login = await waitFor(
      () => since(from).find((s) => s.path === "/login" && s.user === user),
      "the sign-in",
    );
    const registration = await waitFor(
      () => since(from).find((s) => s.path === REGISTER),
      `${user}'s registration`,
    );
    return {
      context,
      page,
      login,
      registration,
      loginCookie: cookieValue(login.setCookie[0]) ?? "",
      boundCookie: cookieValue(registration.setCookie[0]) ?? "",
    };
  }

  /** The single wait of the file: until alice's bound cookie has lapsed, grace included. */
  let alice: SignedIn | undefined;
  let bobState: (SignedIn & { after: number }) | undefined;
  let lapsed = false;
  async function afterLapse(): Promise<SignedIn> {
    if (!alice) throw new Error("alice never signed in (see the first test)");
    if (!lapsed) {
      // From alice's last renewal the server saw, should the browser have refreshed early.
      const renewals = state.seen.filter(
        (s) =>
          s.status === 200 &&
          (s.n === alice?.registration.n ||
            (s.path === REFRESH && s.sessionHeader === alice?.login.session)),
      );
      const last = state.started + Math.max(...renewals.map((s) => s.answered));
      await sleep(Math.max(0, last + LAPSE_MS - Date.now()));
      lapsed = true;
    }
    return alice;
  }

  it("a sign-in through a page makes Chromium register: the session is bound, its cookie replaced by one of Max-Age 30", async () => {
    const signedIn = await signInThroughPage("alice");
    alice = signedIn;
    const { login, registration, context } = signedIn;
    const id = login.session ?? "";

    // The sign-in answered the long-lived cookie and asked for a key.
    expect(login.status).toBe(200);
    expect(maxAgeOf(login.setCookie[0])).toBeGreaterThan(INTERVAL_S);
    expect(login.registration).toMatch(/^\(ES256 RS256\);path="\/dbsc\/register";challenge="/);

    // Chromium posted a proof with the sign-in cookie; the manager bound the session and
    // answered a new cookie that lives one refresh interval.
    expect(registration).toMatchObject({ method: "POST", status: 200, proof: true });
    expect(registration.cookie).toBe(signedIn.loginCookie);
    expect(registration.setCookie).toHaveLength(1);
    expect(maxAgeOf(registration.setCookie[0])).toBe(INTERVAL_S);
    expect(signedIn.boundCookie).not.toBe(signedIn.loginCookie);
    expect(registration.challenge?.endsWith(`;id="${id}"`)).toBe(true);

    const sessions = await manager.list("alice");
    expect(sessions.map((s) => [s.id, s.deviceBound])).toEqual([[id, true]]);

    // The browser's jar holds the bound cookie, expiring within the interval.
    const jar = (await context.cookies()).find((c) => c.name === cookieName);
    expect(jar?.value).toBe(signedIn.boundCookie);
    expect((jar?.expires ?? 0) * 1000 - Date.now()).toBeGreaterThan((INTERVAL_S - 5) * 1000);
    expect((jar?.expires ?? 0) * 1000 - Date.now()).toBeLessThanOrEqual(INTERVAL_S * 1000);
    expect(state.failures).toEqual([]);
  }, 30_000);

  it("after sign-out nothing renews: the browser's refresh is refused and the page is signed out", async () => {
    const bob = await signInThroughPage("bob");
    const id = bob.login.session ?? "";
    expect(bob.registration).toMatchObject({ status: 200, proof: true });
    expect((await manager.list("bob")).map((s) => s.deviceBound)).toEqual([true]);

    const out = await bob.page.evaluate(() =>
      fetch("/logout", { method: "POST" }).then(async (r) => ({
        status: r.status,
        body: (await r.json()) as { revoked: boolean },
      })),
    );
    expect(out).toEqual({ status: 200, body: { revoked: true } });
    const logout = state.seen.find((s) => s.path === "/logout");
    expect(logout?.setCookie.map(maxAgeOf)).toEqual([0]);
    expect(await manager.list("bob")).toEqual([]);
    const after = logout?.n ?? 0;

    // Sign-out cleared the cookie, but Chromium still holds its DBSC session: it refreshes
    // (observed: at once, ahead of time, with a proof of the challenge the registration
    // answer handed out), the manager refuses (401: no such session), and Chromium drops its
    // session. Whatever the order, no refresh renews anything and the page is signed out.
    const first = await protectedFrom(bob.page);
    expect(first.status).toBe(401);
    const refreshes = since(after).filter((s) => s.path === REFRESH);
    expect(refreshes.filter((s) => s.status === 200)).toEqual([]);
    expect(refreshes.every((s) => s.sessionHeader === id)).toBe(true);
    expect(since(after).flatMap((s) => s.setCookie.filter((l) => cookieValue(l) !== ""))).toEqual(
      [],
    );
    bobState = { ...bob, after };
  }, 30_000);

  it(
    "a copy of the bound cookie in a second context (no key) works until it lapses, then is refused and never renewed",
    async () => {
      if (!alice) throw new Error("alice never signed in (see the first test)");
      const id = alice.login.session ?? "";
      const stolen = (await alice.context.cookies()).find((c) => c.name === cookieName);
      expect(stolen?.value).toBe(alice.boundCookie);
      if (!stolen) return;
      // The thief keeps the copy past its Max-Age: only the server can refuse it then.
      const forever = Math.floor(Date.now() / 1000) + 3600;
      const thief = await newContext();
      await thief.addCookies([{ ...stolen, expires: forever }]);
      const page = await thief.newPage();
      await page.goto(`${origin}/`);
      // And a copy of the sign-in cookie, taken before the registration replaced it.
      const early = await newContext();
      await early.addCookies([{ ...stolen, value: alice.loginCookie, expires: forever }]);
      const earlyPage = await early.newPage();
      await earlyPage.goto(`${origin}/`);

      expect(await protectedFrom(page)).toEqual({
        status: 200,
        body: { session: id, user: "alice" },
      });

      await afterLapse();
      const from = lastArrival();
      const refused = await protectedFrom(page);
      const refusedEarly = await protectedFrom(earlyPage);
      expect(refused.status).toBe(401);
      expect(refusedEarly.status).toBe(401);
      // The thief's browser has no DBSC session: it never asks for a refresh. The refusal of
      // the bound copy clears it (Max-Age=0), so the thief's jar ends up empty; the replaced
      // sign-in secret is refused without clearing (a browser sending a replaced secret late
      // may hold its successor, which a clearing answer would delete).
      const answers = since(from);
      expect(answers.filter((s) => s.path === REFRESH && s.sessionHeader === id)).toEqual([]);
      expect(answers.filter((s) => s.path === "/protected").map((s) => s.cookie)).toEqual([
        alice.boundCookie,
        alice.loginCookie,
      ]);
      const protectedAnswers = answers.filter((s) => s.path === "/protected");
      expect(protectedAnswers.map((s) => s.setCookie.map(maxAgeOf))).toEqual([[0], []]);
      expect((await thief.cookies()).find((c) => c.name === cookieName)).toBeUndefined();
      // Alice's browser has not refreshed yet (no request of hers since the sign-in): the copy
      // is refused for being older than the interval, not because a refresh replaced it.
      expect(refused.body.reason).toBe("device_unproven");
    },
    30_000 + LAPSE_MS,
  );

  it(
    "after the bound cookie lapses, a page request is held while Chromium refreshes, then arrives with the new cookie and is authenticated",
    async () => {
      const signedIn = await afterLapse();
      const id = signedIn.login.session ?? "";
      const jar = (await signedIn.context.cookies()).find((c) => c.name === cookieName);
      expect(jar).toBeUndefined(); // lapsed in the browser too
      const from = lastArrival();

      const result = await protectedFrom(signedIn.page);

      const requests = since(from);
      const refreshes = requests.filter((s) => s.path === REFRESH && s.sessionHeader === id);
      const renewed = refreshes.find((s) => s.status === 200);
      const page = requests.filter((s) => s.path === "/protected");
      // Either a 403 challenge and then a proof, or the proof of the challenge the registration
      // answer handed out: both end in one 200 with a cookie for another interval.
      const steps = refreshes
        .slice(0, refreshes.indexOf(renewed as Seen) + 1)
        .map((s) => [s.status, s.proof]);
      expect([
        [[200, true]],
        [
          [403, false],
          [200, true],
        ],
      ]).toContainEqual(steps);
      expect(renewed?.setCookie).toHaveLength(1);
      expect(maxAgeOf(renewed?.setCookie[0])).toBe(INTERVAL_S);
      const fresh = cookieValue(renewed?.setCookie[0]);
      // The page's request was held: it reached the server once, after the renewal, carrying the
      // renewed cookie, and the manager authenticated alice's (same) session with it.
      expect(page).toHaveLength(1);
      expect(page[0]?.arrived).toBeGreaterThanOrEqual(
        renewed?.answered ?? Number.POSITIVE_INFINITY,
      );
      expect(page[0]).toMatchObject({ status: 200, cookie: fresh, session: id, user: "alice" });
      expect(result).toEqual({ status: 200, body: { session: id, user: "alice" } });
      expect((await manager.list("alice")).map((s) => [s.id, s.deviceBound])).toEqual([[id, true]]);
      expect(state.failures.filter((f) => f.sessionId === id)).toEqual([]);
    },
    30_000 + LAPSE_MS,
  );

  it(
    "after sign-out, past the interval, still nothing renews",
    async () => {
      await afterLapse();
      if (!bobState) throw new Error("bob never signed out (see the sign-out test)");
      const bob = bobState;
      const from = lastArrival();
      expect(await protectedFrom(bob.page)).toMatchObject({
        status: 401,
        body: { reason: "missing" },
      });
      const refreshes = since(bob.after).filter(
        (s) => s.path === REFRESH && s.sessionHeader === bob.login.session,
      );
      expect(refreshes.filter((s) => s.status === 200)).toEqual([]);
      // The refused refresh ended Chromium's session: the lapse does not make it try again.
      expect(since(from).filter((s) => s.path === REFRESH)).toEqual([]);
      expect((await bob.context.cookies()).find((c) => c.name === cookieName)).toBeUndefined();
      expect(await manager.list("bob")).toEqual([]);
    },
    30_000 + LAPSE_MS,
  );
});
