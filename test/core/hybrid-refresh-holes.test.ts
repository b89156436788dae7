import { afterEach, describe, expect, it } from "vitest";
import { createSessionClient, memoryTokens } from "../../src/client/index.js";
import { createSessionManager, type SessionManager } from "../../src/index.js";
import { memoryStore } from "../../src/stores/memory/index.js";
import { generateKeySet } from "../../src/tokens/index.js";
import { cookiesOf, manualClock, ORIGIN, requestWith } from "../helpers/manager.js";

// Issue 10: holes in the hybrid refresh and sign-out, found by an attacker and a new user.
const keys = generateKeySet("EdDSA", "ed");
const MIN = 60_000;
const open: SessionManager[] = [];
afterEach(() => {
  for (const m of open.splice(0)) m.close();
});

/** An id manager and a hybrid manager on one store, as the reference server mounts them. */
function setup() {
  const clock = manualClock();
  const store = memoryStore();
  const reuses: string[] = [];
  const common = { store, clock: clock.now, cleanup: false as const, csrf: { origins: [ORIGIN] } };
  const id = createSessionManager({
    ...common,
    strategy: "id",
    lifetimes: { idle: "30m", absolute: "12h", renewal: "1m", grace: "10s" },
  });
  const hybrid = createSessionManager({
    ...common,
    strategy: "hybrid",
    keys,
    issuer: "https://app.example",
    audience: "app",
    lifetimes: { idle: "30m", absolute: "12h", access: "5m", grace: "10s" },
    events: { onRefreshReuse: (e) => reuses.push(e.sessionId) },
  });
  open.push(id, hybrid);
  return { id, hybrid, clock, reuses };
}
const cleared = (headers: Headers) =>
  headers
    .getSetCookie()
    .filter((line) => /Max-Age=0/.test(line))
    .map((line) => line.slice(0, line.indexOf("=")))
    .sort();

describe("hybrid refresh with another strategy's token", () => {
  it("an id token replaced by renewal, presented to the hybrid refresh, ends nothing: the id session lives on", async () => {
    const { id, hybrid, clock, reuses } = setup();
    const issued = await id.create({ userId: "u1", transport: "header" });
    clock.advance(61_000); // past the renewal: the next request gets a new token
    const renewed = await id.authenticate(requestWith({ bearer: issued.token }));
    const current = renewed.headers.get("x-session-token") ?? "";
    expect(current).not.toBe("");
    clock.advance(11_000); // past the grace: the old secret is only remembered now
    // Cross-origin, no cookies, the refresh token in the body (header transport).
    const out = await hybrid.refresh(requestWith({ method: "POST" }), {
      refreshToken: issued.token,
    });
    expect(out.session).toBeNull();
    expect(out.failure?.status).toBe(401);
    expect(out.failure?.reason).not.toBe("reused");
    expect(reuses).toEqual([]);
    expect(await id.get(issued.session.id)).not.toBeNull();
    expect((await id.authenticate(requestWith({ bearer: current }))).session?.id).toBe(
      issued.session.id,
    );
  });
});

describe("hybrid sign-out with a lapsed access token", () => {
  /** A header-transport session kept alive by its client's refreshes for `minutes`. */
  async function keptAlive(minutes: number) {
    const ctx = setup();
    const issued = await ctx.hybrid.create({ userId: "u1", transport: "header" });
    let refreshToken = issued.refreshToken ?? "";
    let access = issued.token;
    for (let t = 0; t < minutes; t += 4) {
      ctx.clock.advance(4 * MIN);
      const next = await ctx.hybrid.refresh(requestWith({ method: "POST" }), { refreshToken });
      expect(next.failure).toBeNull();
      refreshToken = next.refreshToken ?? "";
      access = next.accessToken ?? "";
    }
    return { ...ctx, issued, access };
  }

  it("an access token lapsed long ago (leaked from a log) no longer ends the session: 401 session_expired, the session lives", async () => {
    const { hybrid, issued, access } = await keptAlive(60);
    const out = await hybrid.logout(requestWith({ method: "POST", bearer: issued.token }));
    expect(out.revoked).toBe(false);
    // session_expired: a client of its own refreshes and retries, and so still signs out.
    expect(out.failure).toEqual({ reason: "expired", status: 401, transport: "header" });
    expect(await hybrid.get(issued.session.id)).not.toBeNull();
    // Nor does a sign-in presenting it end the session it names.
    await hybrid.create({
      userId: "u2",
      transport: "header",
      request: requestWith({ method: "POST", bearer: issued.token }),
    });
    expect(await hybrid.get(issued.session.id)).not.toBeNull();
    // The client's current token still signs out.
    const own = await hybrid.logout(requestWith({ method: "POST", bearer: access }));
    expect(own.revoked).toBe(true);
  });

  it("an access token that lapsed within one access lifetime still ends the session", async () => {
    const { hybrid, clock } = setup();
    const issued = await hybrid.create({ userId: "u1", transport: "header" });
    clock.advance(9 * MIN); // 4 min past exp: past the verifier's skew, within the bound
    expect((await hybrid.authenticate(requestWith({ bearer: issued.token }))).failure?.reason).toBe(
      "expired",
    );
    const out = await hybrid.logout(requestWith({ method: "POST", bearer: issued.token }));
    expect(out.revoked).toBe(true);
    expect(await hybrid.get(issued.session.id)).toBeNull();
  });
});

describe("failed hybrid refreshes clear the binding cookie", () => {
  it("a reused refresh cookie clears __Host-at, __Secure-rt and __Host-rtb", async () => {
    const { hybrid, clock, reuses } = setup();
    const issued = await hybrid.create({ userId: "u1" });
    const jar = cookiesOf(issued.headers);
    const cookie = `__Secure-rt=${jar.get("__Secure-rt")}; __Host-rtb=${jar.get("__Host-rtb")}`;
    const request = () =>
      requestWith({ method: "POST", cookie, headers: { "sec-fetch-site": "same-origin" } });
    expect((await hybrid.refresh(request())).failure).toBeNull();
    clock.advance(11_000);
    const reuse = await hybrid.refresh(request());
    expect(reuse.failure?.reason).toBe("reused");
    expect(reuses).toEqual([issued.session.id]);
    expect(cleared(reuse.headers)).toEqual(["__Host-at", "__Host-rtb", "__Secure-rt"]);
  });

  it("an unbound refresh cookie clears __Host-rtb with the others", async () => {
    const { hybrid } = setup();
    const attacker = await hybrid.create({ userId: "attacker" });
    const victim = await hybrid.create({ userId: "victim" });
    const cookie = `__Secure-rt=${attacker.refreshToken}; __Host-rtb=${cookiesOf(victim.headers).get("__Host-rtb")}`;
    const out = await hybrid.refresh(
      requestWith({ method: "POST", cookie, headers: { "sec-fetch-site": "same-origin" } }),
    );
    expect(out.failure?.reason).toBe("unbound_refresh");
    expect(cleared(out.headers)).toEqual(["__Host-at", "__Host-rtb", "__Secure-rt"]);
  });
});

describe("sessionkit/client when a refresh is refused", () => {
  /** The application's routes over the manager, as a page's fetch would reach them. */
  function app(hybrid: SessionManager) {
    const f: typeof fetch = async (input, init) => {
      const request = new Request(String(input), init);
      const path = new URL(request.url).pathname;
      if (path === "/refresh") {
        const body = (await request.json()) as { refreshToken: string };
        const result = await hybrid.refresh(request, body);
        return result.session
          ? Response.json({ accessToken: result.accessToken, refreshToken: result.refreshToken })
          : Response.json({ code: "unauthorized" }, { status: 401 });
      }
      const auth = await hybrid.authenticate(request);
      if (auth.session) return Response.json({ id: auth.session.id });
      const code = auth.failure?.reason === "expired" ? "session_expired" : "unauthorized";
      return Response.json({ code }, { status: 401 });
    };
    return f;
  }

  it("a refresh answered 401 (the session was revoked) announces the sign-out here and to other tabs", async () => {
    const { hybrid, clock } = setup();
    const issued = await hybrid.create({ userId: "u1", transport: "header" });
    const channel = `test-${Math.random()}`;
    const tokens = memoryTokens();
    const options = {
      baseUrl: "https://app.example",
      strategy: "hybrid" as const,
      tokens,
      fetch: app(hybrid),
      refreshPath: "/refresh",
      channel,
      accessLifetimeMs: 10 * MIN,
    };
    const a = createSessionClient(options);
    const b = createSessionClient(options);
    a.signedIn({ accessToken: issued.token, refreshToken: issued.refreshToken ?? "" });
    await new Promise((resolve) => setTimeout(resolve, 1100)); // past the "just refreshed" window
    const here: string[] = [];
    a.onSignOut(() => here.push("a"));
    const there = new Promise<string>((resolve) => b.onSignOut(() => resolve("b")));
    await hybrid.revoke(issued.session.id);
    clock.advance(6 * MIN); // the access token lapsed: the page's next request refreshes
    const me = await a.fetch("/me");
    expect(me.status).toBe(401);
    expect(here).toEqual(["a"]);
    expect(await there).toBe("b");
    expect(tokens.get("access")).toBeNull();
    expect(tokens.get("refresh")).toBeNull();
    a.close();
    b.close();
  });

  it("a signed-out page probing for a refresh cookie (a client never signed in) announces nothing", async () => {
    const { hybrid } = setup();
    const channel = `test-${Math.random()}`;
    const options = {
      baseUrl: "https://app.example",
      strategy: "hybrid" as const,
      fetch: app(hybrid),
      refreshPath: "/refresh",
      channel,
    };
    const page = createSessionClient(options);
    const heard: string[] = [];
    page.onSignOut(() => heard.push("page"));
    // As the demo's signed-out page does: a fresh client that only tries a refresh, refused.
    const stale = memoryTokens();
    stale.set("refresh", "AAAAAAAAAAAAAAAAAAAAAA.x");
    const fresh = createSessionClient({ ...options, tokens: stale });
    fresh.onSignOut(() => heard.push("fresh"));
    expect(await fresh.refresh()).toBe(false);
    await new Promise((resolve) => setTimeout(resolve, 50)); // time for a broadcast to arrive
    expect(heard).toEqual([]);
    page.close();
    fresh.close();
  });
});
