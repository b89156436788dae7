import { ResponseCookies } from "next/dist/compiled/@edge-runtime/cookies/index.js";
import type { cookies } from "next/headers.js";
import { NextResponse } from "next/server.js";
import { describe, expect, expectTypeOf, it } from "vitest";
import {
  actionSession,
  type CookieJar,
  type NextResponseLike,
  parseSetCookie,
  readSession,
  sessionProxy,
  signIn,
  signInAction,
  signOutAction,
} from "../../src/adapters/next.js";
import { isSessionError, type StoredSession } from "../../src/index.js";
import { cookiesOf, ORIGIN, setup } from "../helpers/manager.js";

// The Next.js adapter with Next's own objects: `NextResponse.next` (its request-header
// override protocol) and the cookie store behind `cookies()`. test/adapters/next.e2e.test.ts runs it
// inside a real Next.js server.

it("takes Next's own objects: NextResponse and the store of cookies() fit its types", () => {
  expectTypeOf<typeof NextResponse>().toExtend<NextResponseLike>();
  expectTypeOf<Awaited<ReturnType<typeof cookies>>>().toExtend<CookieJar>();
  expectTypeOf<ResponseCookies>().toExtend<CookieJar>();
});

const MIN = 60_000;
const renewing = () =>
  setup({ lifetimes: { idle: "30m", absolute: "12h", renewal: "10m", grace: "10s" } });
const page = (path: string, cookie: string, init: RequestInit = {}) =>
  new Request(`${ORIGIN}${path}`, { ...init, headers: { cookie, ...init.headers } });

describe("sessionProxy", () => {
  it("renews onto the response and forwards the renewed cookie to the page's request", async () => {
    const { manager, clock } = renewing();
    const { token } = await manager.create({ userId: "u1" });
    const proxy = sessionProxy(manager, NextResponse);
    const quiet = await proxy(page("/news", `theme=dark; __Host-sid=${token}`));
    expect(quiet.headers.get("x-middleware-next")).toBe("1");
    expect(quiet.headers.getSetCookie()).toEqual([]);
    expect(quiet.headers.get("x-middleware-override-headers")).toBeNull();

    clock.advance(11 * MIN);
    const out = await proxy(page("/news", `theme=dark; __Host-sid=${token}`));
    const renewed = cookiesOf(out.headers).get("__Host-sid");
    expect(renewed).toBeDefined();
    expect(renewed).not.toBe(token);
    expect(out.headers.get("cache-control")).toBe("no-store");
    expect(out.headers.get("x-middleware-next")).toBe("1");
    expect(out.headers.get("x-middleware-override-headers")?.split(",")).toContain("cookie");
    expect(out.headers.get("x-middleware-request-cookie")).toBe(
      `theme=dark; __Host-sid=${renewed}`,
    );
  });

  it("sends a signed-out visitor of a protected page to sign-in, and lets others through", async () => {
    const { manager } = setup();
    const proxy = sessionProxy(manager, NextResponse, { protect: ["/account"] });
    const out = await proxy(new Request(`${ORIGIN}/account/devices?tab=2`));
    expect(out.status).toBe(303);
    expect(out.headers.get("location")).toBe(`${ORIGIN}/login?next=%2Faccount%2Fdevices%3Ftab%3D2`);
    const open = await proxy(new Request(`${ORIGIN}/accounting`));
    expect(open.headers.get("x-middleware-next")).toBe("1");
  });

  it("clears a dead cookie, from the response and from the page's request", async () => {
    const { manager } = setup();
    const proxy = sessionProxy(manager, NextResponse);
    const out = await proxy(page("/news", "a=1; __Host-sid=not.valid"));
    expect(out.headers.getSetCookie()[0]).toMatch(/^__Host-sid=; .*Max-Age=0/);
    expect(out.headers.get("x-middleware-request-cookie")).toBe("a=1");
  });

  it("refuses a cross-site unsafe request riding the cookie: 403 problem+json", async () => {
    const { manager } = setup();
    const { token } = await manager.create({ userId: "u1" });
    const proxy = sessionProxy(manager, NextResponse);
    const out = await proxy(
      page("/account", `__Host-sid=${token}`, {
        method: "POST",
        headers: { origin: "https://evil.example" },
      }),
    );
    expect(out.status).toBe(403);
    expect(out.headers.get("content-type")).toBe("application/problem+json");
  });
});

describe("Server Components: readSession", () => {
  it("never renews: no store write, whatever is due", async () => {
    const { manager, store, clock } = renewing();
    const { token, session } = await manager.create({ userId: "u1" });
    const before = (await store.get(session.id, clock.now())) as StoredSession;
    clock.advance(11 * MIN);
    const headers = new Headers({ cookie: `__Host-sid=${token}` });
    expect((await readSession(manager, headers))?.userId).toBe("u1");
    const after = (await store.get(session.id, clock.now())) as StoredSession;
    expect(after).toEqual(before);
  });

  it("answers bad input with null", async () => {
    const { manager } = setup();
    for (const cookie of ["__Host-sid=x", "__Host-sid=a; __Host-sid=b", "=;;="]) {
      expect(await readSession(manager, new Headers({ cookie }))).toBeNull();
    }
  });
});

describe("server actions, through Next's cookie store", () => {
  it("actionSession renews when due and sets the cookie as the manager wrote it", async () => {
    const { manager, clock } = renewing();
    const { token } = await manager.create({ userId: "u1" });
    clock.advance(11 * MIN);
    const jarHeaders = new Headers();
    const jar = new ResponseCookies(jarHeaders);
    const headers = new Headers({ cookie: `__Host-sid=${token}`, origin: ORIGIN });
    expect((await actionSession(manager, headers, jar))?.userId).toBe("u1");
    const set = jar.get("__Host-sid");
    expect(set?.value).toMatch(/\./);
    expect(set?.value).not.toBe(token);
    expect(set).toMatchObject({ path: "/", httpOnly: true, secure: true, sameSite: "lax" });
    expect(set?.maxAge).toBeGreaterThan(11 * 3600 - 700);
  });

  it("signInAction refuses a cross-site sign-in and creates nothing; same-site sets the cookie", async () => {
    const { manager } = setup();
    const jar = new ResponseCookies(new Headers());
    const evil = new Headers({ origin: "https://evil.example" });
    const refused = await signInAction(manager, evil, jar, { userId: "u1" }).catch((e) => e);
    expect(isSessionError(refused, "CSRF_FAILED")).toBe(true);
    expect(await manager.list("u1")).toEqual([]);
    const mine = new Headers({ origin: ORIGIN });
    const session = await signInAction(manager, mine, jar, { userId: "u1" });
    expect(jar.get("__Host-sid")?.value.startsWith(`${session.id}.`)).toBe(true);
  });

  it("signOutAction revokes the session and clears the cookie", async () => {
    const { manager } = setup();
    const { token } = await manager.create({ userId: "u1" });
    const jar = new ResponseCookies(new Headers());
    const headers = new Headers({ cookie: `__Host-sid=${token}`, origin: ORIGIN });
    expect(await signOutAction(manager, headers, jar)).toEqual({ revoked: true });
    expect(jar.get("__Host-sid")?.value).toBe("");
    expect(await manager.list("u1")).toEqual([]);
  });
});

describe("route handlers: signIn", () => {
  it("answers a cross-site sign-in 403 problem+json, and puts the cookie on a redirect", async () => {
    const { manager } = setup();
    const login = (origin: string) =>
      new Request(`${ORIGIN}/api/login`, { method: "POST", headers: { origin } });
    const refused = await signIn(manager, login("https://evil.example"), { userId: "u1" });
    expect(refused.status).toBe(403);
    expect(refused.headers.get("content-type")).toBe("application/problem+json");
    expect(refused.headers.getSetCookie()).toEqual([]);
    const ok = await signIn(manager, login(ORIGIN), { userId: "u1" }, () =>
      Response.redirect(`${ORIGIN}/account`, 303),
    );
    expect(ok.status).toBe(303);
    expect(cookiesOf(ok.headers).get("__Host-sid")).toBeDefined();
  });
});

describe("parseSetCookie", () => {
  it("reads the manager's own lines: set and cleared", async () => {
    const { manager } = setup();
    const { headers, token } = await manager.create({ userId: "u1" });
    const [line = ""] = headers.getSetCookie();
    expect(parseSetCookie(line)).toEqual({
      name: "__Host-sid",
      value: token,
      options: { path: "/", maxAge: 43200, httpOnly: true, secure: true, sameSite: "lax" },
    });
    const { headers: clearing } = await manager.logout(new Request(`${ORIGIN}/`));
    const cleared = parseSetCookie(clearing.getSetCookie()[0] ?? "");
    expect(cleared.value).toBe("");
    expect(cleared.options.maxAge).toBe(0);
  });
});
