import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chromiumAvailable, launchChromium } from "../helpers/chromium.js";
import { startNextApp } from "../helpers/next-app.js";

// examples/next, a real Next.js 16 App Router app, built (`next build`) and served
// (`next start`) as users run it, against sessionkit's dist (`npm test` builds it first).
// Renewal every 3 s and a 2 s grace: a renewed token that a page threw away would leave the
// browser with a cookie that dies before the next visit. (The grace is not 1 s only because a
// prefetch sent with the old cookie just before a renewal may be served later than that on a
// loaded machine.) Driven over HTTP and in Chromium.
const RENEWAL_MS = 3000;
const GRACE_MS = 2000;
const SID = "__Host-sid";
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const browserAvailable = chromiumAvailable("Next.js browser test");

let base = ""; // http://localhost:PORT: Chromium keeps Secure (__Host-) cookies for localhost

let app: Awaited<ReturnType<typeof startNextApp>> | undefined;

beforeAll(async () => {
  app = await startNextApp("test", (port) => {
    base = `http://localhost:${port}`;
    return {
      ORIGIN: base,
      SESSION_RENEWAL: `${RENEWAL_MS}ms`,
      SESSION_GRACE: `${GRACE_MS}ms`,
      SESSION_IDLE: "1m",
    };
  });
}, 240_000);

afterAll(async () => {
  await app?.stop();
});

/** A browser's cookie jar, over fetch: what each response sets, sent back with the next. */
function client(origin = base) {
  const jar = new Map<string, string>();
  const setCookies: string[][] = [];
  const send = async (path: string, init: RequestInit = {}) => {
    const headers = new Headers(init.headers);
    if (jar.size) headers.set("cookie", [...jar].map(([k, v]) => `${k}=${v}`).join("; "));
    if (init.method === "POST") headers.set("origin", origin);
    const response = await fetch(`${base}${path}`, { ...init, headers, redirect: "manual" });
    setCookies.push(response.headers.getSetCookie());
    for (const line of response.headers.getSetCookie()) {
      const [pair = ""] = line.split(";");
      const name = pair.slice(0, pair.indexOf("="));
      if (/max-age=0/i.test(line)) jar.delete(name);
      else jar.set(name, pair.slice(name.length + 1));
    }
    return response;
  };
  const signIn = () =>
    send("/api/login", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: "alice", password: "wonderland" }),
    });
  return { jar, send, signIn, setCookies, sid: () => jar.get(SID) };
}

describe("examples/next over HTTP", () => {
  it("stays signed in across several renewals while only pages are visited", async () => {
    const c = client();
    expect((await c.signIn()).status).toBe(200);
    const first = c.sid();
    const seen = new Set([first]);
    for (const path of ["/account", "/about", "/news", "/account"]) {
      await sleep(RENEWAL_MS + 200);
      const page = await c.send(path);
      expect(page.status, `${path} (a redirect means the session was lost)`).toBe(200);
      seen.add(c.sid());
    }
    expect(seen.size).toBeGreaterThanOrEqual(4); // a renewal on each visit: three at least
    await sleep(GRACE_MS + 200);
    const me = await c.send("/api/me");
    expect(me.status).toBe(200);
    expect(await me.json()).toEqual({ userId: "u-alice" });
    // The first cookie really is dead: a client that lost the renewals would be signed out.
    const stale = await fetch(`${base}/api/me`, { headers: { cookie: `${SID}=${first}` } });
    expect(stale.status).toBe(401);
  }, 40_000);

  it("a Server Component's read sets no cookie; the one the proxy renews stays current", async () => {
    const c = client();
    await c.signIn();
    const news = await c.send("/news");
    expect(await news.text()).toContain("Welcome back, u-alice.");
    expect(news.headers.getSetCookie()).toEqual([]); // renewal not due: nothing set at all
    await sleep(RENEWAL_MS + 200);
    const renewed = await c.send("/news");
    expect(await renewed.text()).toContain("Welcome back, u-alice.");
    const lines = renewed.headers.getSetCookie();
    expect(lines.filter((l) => l.startsWith(`${SID}=`))).toHaveLength(1); // the proxy's
    expect(renewed.headers.get("cache-control")).toBe("no-store");
    // Had the page renewed again, this token would be replaced, and refused after the grace.
    await sleep(GRACE_MS + 200);
    expect((await c.send("/api/me")).status).toBe(200);
    // Bad input in the cookie: the page renders for a visitor, it does not fail.
    const garbage = await fetch(`${base}/news`, { headers: { cookie: `${SID}=not.a-token` } });
    expect(garbage.status).toBe(200);
    expect(await garbage.text()).toContain("Hello, visitor.");
  }, 20_000);

  it("answers a cross-site sign-in 403 problem+json, JSON or form, and sets no cookie", async () => {
    const evil = client("https://evil.example");
    const json = await evil.signIn();
    expect(json.status).toBe(403);
    expect(json.headers.get("content-type")).toContain("application/problem+json");
    expect(await json.json()).toMatchObject({ status: 403, code: "csrf_failed" });
    const form = await evil.send("/api/login", {
      method: "POST",
      body: new URLSearchParams({ username: "alice", password: "wonderland" }),
    });
    expect(form.status).toBe(403);
    expect(form.headers.get("content-type")).toContain("application/problem+json");
    expect(evil.setCookies.flat()).toEqual([]);
  });

  it("sends a signed-out visitor of /account to /login, and signs out from the route handler", async () => {
    const anonymous = await fetch(`${base}/account`, { redirect: "manual" });
    expect(anonymous.status).toBe(303);
    expect(anonymous.headers.get("location")).toMatch(/\/login\?next=%2Faccount$/);
    const c = client();
    await c.signIn();
    const sid = c.sid();
    expect((await c.send("/api/logout", { method: "POST" })).status).toBe(204);
    expect(c.sid()).toBeUndefined();
    const after = await fetch(`${base}/api/me`, { headers: { cookie: `${SID}=${sid}` } });
    expect(after.status).toBe(401);
  });
});

describe.skipIf(!browserAvailable)("examples/next in Chromium", () => {
  let browser: Browser;
  let context: BrowserContext;

  beforeAll(async () => {
    browser = await launchChromium();
    context = await browser.newContext();
  });
  afterAll(async () => {
    await context?.close();
    await browser?.close();
  });

  const sid = async () => (await context.cookies(base)).find((c) => c.name === SID)?.value;
  const apiStatus = (page: Page, path: string) =>
    page.evaluate(async (p) => (await fetch(p)).status, path);

  it("signs in with the form, navigates pages across renewals, stays signed in, signs out", async () => {
    const page = await context.newPage();
    page.setDefaultTimeout(10_000); // a lost session shows as a page that never comes
    await page.goto(`${base}/account`); // the proxy sends a signed-out visitor to /login
    await page.waitForSelector("#login");
    await page.fill("#username", "alice");
    await page.fill("#password", "wonderland");
    await Promise.all([page.waitForURL(`${base}/account`), page.click("#sign-in")]);
    expect(await page.textContent("#user")).toBe("u-alice");
    const seen = new Set([await sid()]);
    // Client-side navigations (links) and full loads, only pages, never the API.
    const steps: Array<[string, string]> = [
      ["About", "#about"],
      ["News", "#news"],
      ["Account", "#account"],
      ["/news", "#news"],
      ["Account", "#account"],
    ];
    for (const [target, selector] of steps) {
      await sleep(RENEWAL_MS + 200);
      if (target.startsWith("/")) await page.goto(`${base}${target}`);
      else await page.click(`nav >> text=${target}`);
      await page.waitForSelector(selector);
      seen.add(await sid());
    }
    expect(await page.textContent("#user")).toBe("u-alice");
    expect(seen.size).toBeGreaterThanOrEqual(4);
    await sleep(GRACE_MS + 200);
    expect(await apiStatus(page, "/api/me")).toBe(200);

    // Sign-out is a server action: it clears the cookie through cookies().
    await Promise.all([page.waitForURL(/\/login$/), page.click("#sign-out")]);
    expect(await sid()).toBeUndefined();
    expect(await apiStatus(page, "/api/me")).toBe(401);
    await page.goto(`${base}/account`);
    await page.waitForSelector("#login");
  }, 60_000);
});
