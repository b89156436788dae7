import { request as httpRequest } from "node:http";
import { NextResponse } from "next/server.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readSession, sessionProxy } from "../../src/adapters/next.js";
import { originAllowed } from "../../src/csrf/origin.js";
import type { StoredSession } from "../../src/index.js";
import { cookiesOf, ORIGIN, setup } from "../helpers/manager.js";
import { startNextApp } from "../helpers/next-app.js";

// Attack review of the Next.js adapter (src/adapters/next.ts, examples/next) and of the
// Host-equals-Origin rule of originAllowed (src/csrf/origin.ts).
//
// `it.fails` = a confirmed finding (the test states the secure behaviour and fails today);
// plain `it` = an attack that failed, kept as a regression guard.
//
// The real app: examples/next built with `next build` into a distinct dist dir and served with
// `next start` on a free port, against sessionkit's dist/ (run `npm run build` after fixing
// src/). It is configured as deployed behind a TLS-terminating proxy: ORIGIN is
// https://app.example and every request carries `Host: app.example` (sent with node:http, which
// lets a test choose the Host header as the proxy would pass it on).

const HOST = "app.example";
const SITE = `https://${HOST}`;
const SID = "__Host-sid";
const RENEWAL_MS = 3000;
const GRACE_MS = 2000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const hdrs = (init: Record<string, string>) => new Headers(init);
/** A request as the node adapter sees it behind a TLS proxy: its URL from Host, scheme http. */
const viaNode = (init: Record<string, string>) => ({
  headers: hdrs(init),
  ...(init.host === undefined ? {} : { url: `http://${init.host}/api/logout` }),
});

describe("originAllowed: the Host fallback", () => {
  const allowed = new Set([SITE]);

  // Found by this review, fixed in the same change (medium): the fallback compares only host[:port]; the Origin's scheme is dropped.
  // Reproduction: an active network attacker (public Wi-Fi) answers the victim's plain
  // http://app.example/ request with a page that auto-submits a form to
  // https://app.example/api/logout (or any cookie-authenticated unsafe route, or /api/login
  // for login CSRF). A browser without Fetch Metadata (Safari < 16.4, Firefox < 90, or any
  // browser behind a proxy/CDN that strips Sec-Fetch-*) sends `Origin: http://app.example`,
  // `Host: app.example`, no Sec-Fetch-Site, and the Secure SameSite=Lax cookie (http->https on
  // one host is same-site without schemeful same-site). Before 867db06 this was refused: the
  // only allowed origin is https://app.example.
  // Fix: the fallback must not pass an Origin whose scheme differs from the configured
  // origins' (e.g. accept only when `${scheme}://${Host}` is itself in `allowed`, or when the
  // Origin's scheme is that of the request as the adapter received it); never accept an http:
  // Origin when every configured origin is https:.
  it("refuses an http: Origin naming the https site's own host (scheme downgrade)", () => {
    expect(originAllowed(viaNode({ host: HOST, origin: `http://${HOST}` }), allowed)).toBe(false);
  });

  it("guards: ports, dots, case, IPv6, proxies' headers, Fetch Metadata, malformed Origins", () => {
    const pass = (h: Record<string, string>) => originAllowed(viaNode(h), allowed);
    // The legitimate case the change was for, and the allowed list itself.
    expect(pass({ host: HOST, origin: SITE })).toBe(true);
    expect(pass({ host: "APP.Example", origin: SITE })).toBe(true);
    // Another port of the same host (cookies ignore ports, Origin does not).
    expect(pass({ host: "intranet:3000", origin: "http://intranet:3001" })).toBe(false);
    expect(pass({ host: "intranet:3000", origin: "http://intranet" })).toBe(false);
    // Explicit default ports and trailing dots are other hosts to this check: fail closed.
    expect(pass({ host: "intranet:443", origin: "https://intranet" })).toBe(false);
    expect(pass({ host: "intranet.", origin: "https://intranet" })).toBe(false);
    expect(pass({ host: "intranet", origin: "https://intranet." })).toBe(false);
    // IPv6 literals compare as the browser writes them; another address does not pass. (With
    // only https origins configured, no http: Origin passes by its host: none configured here.)
    const local = (h: Record<string, string>) => originAllowed(viaNode(h), new Set());
    expect(local({ host: "[::1]:3000", origin: "http://[::1]:3000" })).toBe(true);
    expect(local({ host: "[::1]:3000", origin: "http://[::2]:3000" })).toBe(false);
    // X-Forwarded-Host is never read: a proxy that rewrites Host fails closed.
    expect(
      pass({
        host: "10.0.0.5:3000",
        "x-forwarded-host": "evil.example",
        origin: "https://evil.example",
      }),
    ).toBe(false);
    expect(
      pass({ host: "10.0.0.5:3000", "x-forwarded-host": "intranet", origin: "https://intranet" }),
    ).toBe(false);
    // Fetch Metadata wins whatever the Host says.
    for (const site of ["same-site", "cross-site", "none"]) {
      expect(pass({ host: "intranet", origin: "https://intranet", "sec-fetch-site": site })).toBe(
        false,
      );
    }
    // Malformed, opaque or tricky Origins.
    for (const origin of [
      "null",
      "",
      "https://intranet.evil.example",
      "https://evil.example/intranet",
      "https://intranet@evil.example",
      "https://evil.example#intranet",
      "javascript://intranet",
      "file://intranet",
      "https://intranet, https://evil.example",
    ]) {
      expect(pass({ host: "intranet", origin }), origin).toBe(false);
    }
    expect(pass({ host: "intranet" })).toBe(false);
    expect(pass({ origin: "https://intranet" })).toBe(false);
  });
});

describe("sessionProxy: the Cookie header forwarded to the page", () => {
  const MIN = 60_000;
  const renewing = () =>
    setup({ lifetimes: { idle: "30m", absolute: "12h", renewal: "10m", grace: "10s" } });

  it("guard: cookies named like ours inside values, nameless pairs and case variants do not smuggle a session", async () => {
    const { manager, clock } = renewing();
    const victim = await manager.create({ userId: "victim" });
    const mine = await manager.create({ userId: "me" });
    const proxy = sessionProxy(manager, NextResponse);
    clock.advance(11 * MIN);
    // A value that carries `__Host-sid=` (a planted cookie), and a nameless cookie.
    const cookie = `x=${SID}=${victim.token}; ${SID}X; ${SID}=${mine.token}`;
    const out = await proxy(new Request(`${ORIGIN}/news`, { headers: { cookie } }));
    const renewed = cookiesOf(out.headers).get(SID);
    expect(renewed).toBeDefined();
    const forwarded = out.headers.get("x-middleware-request-cookie") ?? "";
    const page = await readSession(manager, hdrs({ cookie: forwarded }));
    expect(page?.userId).toBe("me");
    expect(forwarded).toContain(`${SID}=${renewed}`);

    // A case variant beside ours: ambiguous, nobody, and never renewed into the page.
    const variant = `__host-sid=${victim.token}; ${SID}=${mine.token}`;
    const refused = await proxy(new Request(`${ORIGIN}/news`, { headers: { cookie: variant } }));
    // The page reads what the proxy forwarded, or else the browser's own Cookie: nobody either way.
    const passed = refused.headers.get("x-middleware-request-cookie") ?? variant;
    expect(await readSession(manager, hdrs({ cookie: passed }))).toBeNull();
  });

  it("guard: readSession never renews nor writes, even on a request that says POST or cross-site", async () => {
    const { manager, store, clock } = renewing();
    const { token, session } = await manager.create({ userId: "u1" });
    const before = (await store.get(session.id, clock.now())) as StoredSession;
    clock.advance(25 * MIN);
    const headers = hdrs({
      cookie: `${SID}=${token}`,
      origin: "https://evil.example",
      "sec-fetch-site": "cross-site",
      "next-action": "x",
    });
    expect((await readSession(manager, headers))?.userId).toBe("u1");
    expect(await store.get(session.id, clock.now())).toEqual(before);
    // Past the idle lifetime of its last write, it does not keep itself alive either.
    clock.advance(6 * MIN);
    expect(await readSession(manager, headers)).toBeNull();
    const live = await manager.create({ userId: "u3" });
    await manager.revoke(live.session.id);
    expect(await readSession(manager, hdrs({ cookie: `${SID}=${live.token}` }))).toBeNull();
  });
});

/** One HTTP exchange with the Next server, the Host header as a proxy would pass it on. */
interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  setCookies: string[];
  body: string;
}

let port = 0;

function send(
  path: string,
  init: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: "127.0.0.1",
        port,
        path,
        method: init.method ?? "GET",
        headers: { host: HOST, ...init.headers },
      },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          body += chunk;
        });
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            setCookies: res.headers["set-cookie"] ?? [],
            body,
          }),
        );
      },
    );
    req.on("error", reject);
    req.end(init.body);
  });
}

const sidOf = (answer: Answer) =>
  answer.setCookies
    .map((line) => line.split(";")[0] ?? "")
    .find((pair) => pair.startsWith(`${SID}=`))
    ?.slice(SID.length + 1);

/** Signs alice in as the site's own page would (same-origin fetch). */
async function signIn(): Promise<string> {
  const answer = await send("/api/login", {
    method: "POST",
    headers: { "content-type": "application/json", origin: SITE, "sec-fetch-site": "same-origin" },
    body: JSON.stringify({ username: "alice", password: "wonderland" }),
  });
  const sid = sidOf(answer);
  if (answer.status !== 200 || !sid) throw new Error(`sign-in failed: ${answer.status}`);
  return sid;
}

const me = async (sid: string) =>
  (await send("/api/me", { headers: { cookie: `${SID}=${sid}` } })).status;

describe("examples/next, built and served", () => {
  let app: Awaited<ReturnType<typeof startNextApp>> | undefined;
  beforeAll(async () => {
    app = await startNextApp("attack", (p) => {
      port = p;
      return {
        ORIGIN: SITE,
        SESSION_RENEWAL: `${RENEWAL_MS}ms`,
        SESSION_GRACE: `${GRACE_MS}ms`,
        SESSION_IDLE: "1m",
      };
    });
  }, 240_000);

  afterAll(async () => {
    await app?.stop();
  });

  // Found by this review, fixed in the same change (medium), the same scheme downgrade end to end: a cookie-authenticated unsafe
  // request from http://app.example (injected by a network attacker, browser without Fetch
  // Metadata) to the https site is accepted by the route handler's signOut.
  // Reproduction: sign in; POST /api/logout with `Host: app.example`,
  // `Origin: http://app.example`, no Sec-Fetch-Site, and the session cookie: 204 and the
  // session is revoked. ORIGIN is https://app.example only. The same request passes the
  // proxy for page POSTs and Next's own server-action check (which compares hosts only), so
  // signOutAction/actionSession are reachable the same way; /api/login gives login CSRF.
  // Fix: in src/csrf/origin.ts (see the unit test above).
  it("refuses a sign-out riding the cookie from http://<same host> (scheme downgrade)", async () => {
    const sid = await signIn();
    const out = await send("/api/logout", {
      method: "POST",
      headers: { cookie: `${SID}=${sid}`, origin: `http://${HOST}` },
    });
    expect(out.status).toBe(403);
    expect(await me(sid)).toBe(200);
  });

  // Found by this review, fixed in the same change (medium, examples/next/lib/routes.js): open redirect after sign-in.
  // Reproduction: send the victim https://app.example/login?next=%2F%5Cevil.example; the
  // login page puts `/\evil.example` into its hidden `next` field; after the victim signs in,
  // POST /api/login answers `303 Location: http://evil.example/` (WHATWG URL reads `\` as `/`
  // and drops tabs/newlines, so `/\evil.example` and `/<TAB>/evil.example` are `//evil.example`).
  // localPath only rejects a leading `//`.
  // Fix: resolve `new URL(value, request.url)` and keep it only when its origin is the
  // request's (then redirect to pathname + search + hash), or reject `\` and any control
  // character before the check.
  it("keeps the sign-in redirect on this site for next=/\\evil.example and /\\t/evil.example", async () => {
    const page = await send("/login?next=%2F%5Cevil.example");
    expect(page.body).toContain('name="next" value="/\\evil.example"'); // the bait is served
    for (const next of ["/\\evil.example", "/\t/evil.example", "/\\/evil.example"]) {
      const out = await send("/api/login", {
        method: "POST",
        headers: {
          "content-type": "application/x-www-form-urlencoded",
          origin: SITE,
          "sec-fetch-site": "same-origin",
        },
        body: new URLSearchParams({ username: "alice", password: "wonderland", next }).toString(),
      });
      expect(out.status).toBe(303);
      // This site: its public host, or the host Next itself listens on (the route builds the
      // redirect from request.url, which is Next's own address, not the Host a proxy passed).
      const target = new URL(String(out.headers.location), SITE).hostname;
      expect([HOST, "localhost", "127.0.0.1"], JSON.stringify(next)).toContain(target);
    }
  });

  it("guard: the protect matcher holds for encoded, case, slash, dot and /_next/ variants and every method", async () => {
    const paths = [
      "/account",
      "/account/",
      "//account",
      "/account/.",
      "/%61ccount",
      "/ACCOUNT",
      "/account%2F",
      "/%2Faccount",
      "/account;x",
      "/account?_rsc=1",
      "/_next/static/../../account",
      "/_next/data/x/account.json",
      // Paths the proxy's matcher skips (api/, _next/static, _next/image, favicon.ico).
      "/favicon.ico/../account",
      "/api/../account",
      "/api/%2e%2e/account",
      "/api%2F../account",
      "/_next/image/../account",
      "/_next/static/..%2F..%2Faccount",
      "/favicon.ico%2F..%2Faccount",
      "/account%20",
      "/account.",
    ];
    for (const path of paths) {
      const out = await send(path);
      expect(out.body, path).not.toContain('id="account"');
      expect([303, 307, 308, 404], path).toContain(out.status);
    }
    for (const method of ["HEAD", "OPTIONS", "POST", "PUT", "DELETE", "PATCH"]) {
      expect((await send("/account", { method })).status, method).toBe(303);
    }
    const internals: Array<Record<string, string>> = [
      { "x-middleware-subrequest": "proxy:proxy:proxy:proxy:proxy" },
      { "x-middleware-subrequest": "middleware:middleware:middleware:middleware:middleware" },
      { rsc: "1", "next-router-prefetch": "1" },
      { "x-matched-path": "/about", "x-invoke-path": "/about" },
      { "x-middleware-next": "1" },
    ];
    for (const header of internals) {
      const out = await send("/account", { headers: header });
      expect(out.status, JSON.stringify(header)).toBe(303);
    }
  });

  it("guard: a client's x-middleware-* request override headers never reach the page", async () => {
    const sid = await signIn();
    const smuggled = {
      "x-middleware-override-headers": "cookie",
      "x-middleware-request-cookie": `${SID}=${sid}`,
    };
    for (const cookie of [undefined, "a=1"]) {
      const headers: Record<string, string> = cookie ? { ...smuggled, cookie } : smuggled;
      const out = await send("/news", { headers });
      expect(out.body).toContain("Hello, visitor.");
      expect(out.body).not.toContain("u-alice");
    }
    const account = await send("/account", { headers: smuggled });
    expect(account.status).toBe(303);
  });

  it("guard: a renewal on a static page or an RSC prefetch is no-store; a late prefetch does not sign out", async () => {
    const old = await signIn();
    await sleep(RENEWAL_MS + 200);
    const page = await send("/about", { headers: { cookie: `${SID}=${old}` } });
    const renewed = sidOf(page);
    expect(renewed).toBeDefined();
    expect(page.headers["cache-control"]).toBe("no-store");
    // The Cookie header forwarded to the page (x-middleware-request-cookie) is Next's internal
    // business: echoed to the client it would hand HttpOnly values to a script.
    for (const [name, value] of Object.entries(page.headers)) {
      expect(name).not.toMatch(/^x-middleware-/);
      if (name !== "set-cookie") expect(String(value), name).not.toContain(renewed as string);
    }
    const prefetch = await send("/about?_rsc=abc", {
      headers: { cookie: `${SID}=${old}`, rsc: "1", "next-router-prefetch": "1" },
    });
    // Within the grace the old cookie gets its successor, uncacheable.
    expect(prefetch.headers["cache-control"]).toBe("no-store");
    expect(sidOf(prefetch)).toBe(renewed);
    await sleep(GRACE_MS + 300);
    // A prefetch sent with the old cookie, served after the grace: refused, nothing cleared.
    for (const path of ["/account?_rsc=x", "/news?_rsc=x", "/about"]) {
      const late = await send(path, {
        headers: { cookie: `${SID}=${old}`, rsc: "1", "next-router-prefetch": "1" },
      });
      expect(
        late.setCookies.filter((l) => l.startsWith(`${SID}=`)),
        path,
      ).toEqual([]);
    }
    expect(await me(renewed as string)).toBe(200);
    expect(await me(old)).toBe(401);
  }, 20_000);

  it("guard: cross-site server-action sign-out (form or header, on pages and on paths the proxy skips) changes nothing", async () => {
    const sid = await signIn();
    const account = await send("/account", { headers: { cookie: `${SID}=${sid}` } });
    const action = /name="\$ACTION_ID_([0-9a-f]+)"/.exec(account.body)?.[1];
    expect(action).toBeDefined();
    const boundary = "----attack";
    const form = `--${boundary}\r\nContent-Disposition: form-data; name="$ACTION_ID_${action}"\r\n\r\n\r\n--${boundary}--\r\n`;
    const origins: Array<Record<string, string>> = [
      { origin: "https://evil.example", "sec-fetch-site": "cross-site" },
      { origin: "https://evil.example" },
      { origin: "null" },
      {},
      { origin: `https://sib.${HOST}`, "sec-fetch-site": "same-site" },
      { origin: `https://sib.${HOST}` },
      { origin: "https://evil.example", "x-forwarded-host": "evil.example" },
    ];
    for (const path of ["/account", "/", "/login", "/api/nope", "/favicon.ico"]) {
      for (const extra of origins) {
        const what = `${path} ${JSON.stringify(extra)}`;
        const viaForm = await send(path, {
          method: "POST",
          headers: {
            cookie: `${SID}=${sid}`,
            "content-type": `multipart/form-data; boundary=${boundary}`,
            ...extra,
          },
          body: form,
        });
        expect(viaForm.setCookies, what).toEqual([]);
        const viaHeader = await send(path, {
          method: "POST",
          headers: {
            cookie: `${SID}=${sid}`,
            "next-action": action as string,
            "content-type": "text/plain;charset=UTF-8",
            ...extra,
          },
          body: "[]",
        });
        expect(viaHeader.setCookies, what).toEqual([]);
        expect(await me(sid), what).toBe(200);
      }
    }
    // Control: the site's own page signs out with the same action.
    const own = await send("/account", {
      method: "POST",
      headers: {
        cookie: `${SID}=${sid}`,
        "content-type": `multipart/form-data; boundary=${boundary}`,
        origin: SITE,
        "sec-fetch-site": "same-origin",
      },
      body: form,
    });
    expect(own.status).toBe(303);
    expect(await me(sid)).toBe(401);
  }, 30_000);

  it("guard: cross-site sign-in and sign-out through the route handlers are refused", async () => {
    const sid = await signIn();
    const attempts: Array<Record<string, string>> = [
      { origin: "https://evil.example" },
      { origin: "https://evil.example", "sec-fetch-site": "cross-site" },
      { origin: "null" },
      {},
      { origin: `https://${HOST}.evil.example` },
      { origin: SITE.replace("app", "APP"), "sec-fetch-site": "same-site" },
    ];
    for (const extra of attempts) {
      const what = JSON.stringify(extra);
      const out = await send("/api/logout", {
        method: "POST",
        headers: { cookie: `${SID}=${sid}`, ...extra },
      });
      expect(out.status, what).toBe(403);
      const login = await send("/api/login", {
        method: "POST",
        headers: { "content-type": "application/json", ...extra },
        body: JSON.stringify({ username: "alice", password: "wonderland" }),
      });
      expect(login.status, what).toBe(403);
      expect(login.setCookies, what).toEqual([]);
    }
    expect(await me(sid)).toBe(200);
  });
});
