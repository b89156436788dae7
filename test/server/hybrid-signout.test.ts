import { afterAll, describe, expect, it } from "vitest";
import { createSessionManager, generateKeySet } from "../../src/index.js";
import { createApp } from "../../src/server/app.js";
import { sqliteUsers } from "../../src/server/users-sqlite.js";
import { memoryStore } from "../../src/stores/memory/index.js";
import { manualClock } from "../helpers/manager.js";

// The reference server's hybrid routes in this process, on a clock the test moves, with a
// cookie jar that keeps each cookie's Path as a browser does: the refresh cookie goes to the
// refresh route only, never to sign-out.
const ORIGIN = "https://app.test";
const PASSWORD = "correct horse battery";
const clock = manualClock();
const store = memoryStore();
const users = sqliteUsers(":memory:");
const hybrid = createSessionManager({
  strategy: "hybrid",
  store,
  keys: generateKeySet(),
  issuer: ORIGIN,
  audience: `${ORIGIN}/api/hybrid`,
  clock: clock.now,
  cleanup: false,
  csrf: { origins: [ORIGIN] },
  lifetimes: { access: "5m" },
});
const app = createApp({ managers: { hybrid }, store, users, scryptLog2N: 10, clock: clock.now });
afterAll(() => {
  hybrid.close();
  users.close();
});

function browser(origin: string = ORIGIN) {
  const jar = new Map<string, { value: string; path: string }>();
  const request = async (method: string, path: string, body?: unknown) => {
    const headers = new Headers({ origin });
    const sent = [...jar].filter(([, c]) => path.startsWith(c.path));
    if (sent.length > 0) headers.set("cookie", sent.map(([n, c]) => `${n}=${c.value}`).join("; "));
    if (body !== undefined) headers.set("content-type", "application/json");
    const response = await app.request(`${ORIGIN}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    for (const line of response.headers.getSetCookie()) {
      const [pair = "", ...attributes] = line.split("; ");
      const name = pair.slice(0, pair.indexOf("="));
      const value = pair.slice(pair.indexOf("=") + 1);
      const cookiePath = attributes.find((a) => a.startsWith("Path="))?.slice(5) ?? "/";
      if (/Max-Age=0/.test(line)) jar.delete(name);
      else jar.set(name, { value, path: cookiePath });
    }
    return response;
  };
  return { jar, request };
}

let count = 0;
async function signedIn() {
  const b = browser();
  const username = `hybrid-out-${++count}`;
  expect((await b.request("POST", "/api/users", { username, password: PASSWORD })).status).toBe(
    201,
  );
  expect(
    (await b.request("POST", "/api/hybrid/login", { username, password: PASSWORD })).status,
  ).toBe(200);
  return b;
}

describe("hybrid sign-out through the reference server", () => {
  it("after the access token lapsed: 204, every cookie cleared, and the old refresh cookie signs no one back in", async () => {
    const b = await signedIn();
    const copy = new Map(b.jar);
    clock.advance(6 * 60_000); // the access token lapsed; the session itself is live
    const out = await b.request("POST", "/api/hybrid/logout");
    expect(out.status).toBe(204);
    const cleared = out.headers
      .getSetCookie()
      .filter((l) => /Max-Age=0/.test(l))
      .map((l) => l.slice(0, l.indexOf("=")));
    expect(cleared.sort()).toEqual(["__Host-at", "__Host-csrf", "__Host-rtb", "__Secure-rt"]);
    expect(b.jar.size).toBe(0);
    // A copy of the old cookies (or a page that kept them) cannot refresh back in.
    for (const [name, cookie] of copy) b.jar.set(name, cookie);
    expect((await b.request("POST", "/api/hybrid/refresh")).status).toBe(401);
    expect((await b.request("GET", "/api/hybrid/me")).status).toBe(401);
  });

  it("after a 401 cleared the access cookie, sign-out still ends the session", async () => {
    const b = await signedIn();
    clock.advance(6 * 60_000);
    const me = await b.request("GET", "/api/hybrid/me");
    expect(me.status).toBe(401);
    expect(b.jar.has("__Host-at")).toBe(false);
    const refreshCookie = b.jar.get("__Secure-rt");
    expect((await b.request("POST", "/api/hybrid/logout")).status).toBe(204);
    if (refreshCookie) b.jar.set("__Secure-rt", refreshCookie);
    expect((await b.request("POST", "/api/hybrid/refresh")).status).toBe(401);
  });

  it("a sign-out that proves no live session answers 401 and still clears every cookie", async () => {
    const b = await signedIn();
    expect((await b.request("POST", "/api/hybrid/logout")).status).toBe(204);
    const stale = browser();
    stale.jar.set("__Host-at", { value: "not.a.token", path: "/" });
    const out = await stale.request("POST", "/api/hybrid/logout");
    expect(out.status).toBe(401);
    expect(out.headers.getSetCookie().filter((l) => /Max-Age=0/.test(l))).toHaveLength(4);
    expect(stale.jar.size).toBe(0);
  });

  it("a cross-site sign-out is refused (403) and the session lives on", async () => {
    const b = await signedIn();
    clock.advance(6 * 60_000);
    const evil = browser("https://evil.example");
    for (const [name, cookie] of b.jar) evil.jar.set(name, cookie);
    expect((await evil.request("POST", "/api/hybrid/logout")).status).toBe(403);
    expect((await b.request("POST", "/api/hybrid/refresh")).status).toBe(200);
    expect((await b.request("GET", "/api/hybrid/me")).status).toBe(200);
  });

  it("a refresh cookie planted in a signed-out browser (the attacker's own) does not sign it in", async () => {
    const attacker = await signedIn();
    const victim = browser();
    const planted = attacker.jar.get("__Secure-rt");
    if (!planted) throw new Error("no refresh cookie");
    victim.jar.set("__Secure-rt", planted);
    const refreshed = await victim.request("POST", "/api/hybrid/refresh");
    expect(refreshed.status).toBe(401);
    expect(victim.jar.has("__Host-at")).toBe(false);
    expect((await victim.request("GET", "/api/hybrid/me")).status).toBe(401);
    // The attacker's own browser, which holds the binding cookie, still refreshes.
    expect((await attacker.request("POST", "/api/hybrid/refresh")).status).toBe(200);
  });
});
