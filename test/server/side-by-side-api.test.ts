import { describe, expect, it } from "vitest";
import { appClient, referenceApp, signedInClient } from "../helpers/app.js";

// The side-by-side page's API: how each strategy refused after a revocation, how long the
// change feed took, and the --lab switch that holds the jwt feed back until maxLag fails it
// closed.
const MAX_LAG = 150;

/** The reference app over a memory store, with a short maxLag and the lab on or off. */
const appWith = (lab: boolean) =>
  referenceApp({ lab, maxLag: MAX_LAG }, { revocation: { maxLag: MAX_LAG } }).app;

type Client = ReturnType<typeof appClient>;
interface Check {
  status: number;
  accepted: boolean;
  reason?: string;
  feed: { heardAfterMs: number | null; held?: boolean } | null;
  family?: { gone: boolean } | null;
}
const check = async (c: Client, strategy: string) => {
  const r = await c.request("GET", `/api/strategies/check?strategy=${strategy}`);
  expect(r.status).toBe(200);
  expect(r.headers.get("cache-control")).toBe("no-store");
  return (await r.json()) as Check;
};
const revoke = (c: Client, strategy: string) =>
  c.request("POST", "/api/strategies/revoke", { strategy });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("side by side: how each strategy refuses a revoked session", () => {
  const app = appWith(false);

  it("id: the store lookup; jwt: the revocation set, with the feed's delay; hybrid: and its refresh family", async () => {
    for (const strategy of ["id", "jwt", "hybrid"] as const) {
      const c = await signedInClient(app, strategy);
      expect(await check(c, strategy)).toMatchObject({ status: 200, accepted: true });
      const r = await revoke(c, strategy);
      expect(r.status).toBe(200);
      const revoked = (await r.json()) as { feed: Check["feed"]; family: Check["family"] };
      const after = await check(c, strategy);
      expect(after.status, strategy).toBe(401);
      expect(after.accepted).toBe(false);
      if (strategy === "id") {
        expect(after.reason).toBe("unknown_session");
        expect(revoked.feed).toBeNull();
      } else {
        expect(after.reason).toBe("revoked");
        expect(revoked.feed?.heardAfterMs).toBeGreaterThanOrEqual(0);
        expect(after.feed?.heardAfterMs).toBe(revoked.feed?.heardAfterMs);
      }
      if (strategy === "hybrid") {
        expect(revoked.family).toEqual({ gone: true });
        expect(after.family).toEqual({ gone: true });
      }
      // The check cleared no cookie: the same refusal again.
      expect((await check(c, strategy)).reason).toBe(after.reason);
    }
  });

  it("times verifications: a warm median over many runs, and the first one", async () => {
    const c = await signedInClient(app, "jwt");
    const r = await c.request("GET", "/api/strategies/state");
    const state = (await r.json()) as Record<
      string,
      { firstMicros: number; medianMicros: number | null }
    >;
    expect(state.jwt?.medianMicros).toBeGreaterThan(0);
    expect(state.id?.medianMicros).toBeNull(); // not signed in with id: nothing to time
  });

  it("has no pause switch without --lab, and says so", async () => {
    const c = await signedInClient(app, "jwt");
    expect((await c.request("POST", "/api/strategies/feed", { paused: true })).status).toBe(404);
    const feed = await (await c.request("GET", "/api/strategies/feed")).json();
    expect(feed).toMatchObject({ lab: false, paused: false, maxLagMs: MAX_LAG });
    expect((await revoke(c, "jwt")).status).toBe(200);
    expect((await check(c, "jwt")).reason).toBe("revoked");
  });

  it("answers junk with 4xx: unknown strategies, bodies, and cross-site revocations", async () => {
    const c = await signedInClient(app, "jwt");
    for (const s of ["__proto__", "toString", "", "ID"]) {
      expect((await c.request("GET", `/api/strategies/check?strategy=${s}`)).status, s).toBe(400);
      expect((await revoke(c, s)).status, s).toBe(400);
    }
    expect((await c.request("GET", "/api/strategies/check")).status).toBe(400);
    expect((await c.request("POST", "/api/strategies/revoke", "{")).status).toBe(400);
    const crossSite = await c.request(
      "POST",
      "/api/strategies/revoke",
      { strategy: "jwt" },
      { origin: "https://evil.example" },
    );
    expect(crossSite.status).toBe(403);
    expect((await check(c, "jwt")).accepted).toBe(true);
    expect((await revoke(appClient(app), "jwt")).status).toBe(401);
  });
});

describe("side by side with --lab: revoking while the jwt feed is paused", () => {
  const app = appWith(true);

  it("keeps the revoked jwt working until maxLag fails it closed, then the revocation lands on resume", async () => {
    const c = await signedInClient(app, "jwt");
    const paused = await c.request("POST", "/api/strategies/feed", { paused: true });
    expect(paused.status).toBe(200);
    expect(await paused.json()).toMatchObject({ lab: true, paused: true, failedClosed: false });
    const r = await revoke(c, "jwt");
    expect(((await r.json()) as { feed: Check["feed"] }).feed).toEqual({
      heardAfterMs: null,
      held: true,
    });
    // Revoked in the store, yet accepted: nothing told this instance.
    expect(await check(c, "jwt")).toMatchObject({ status: 200, accepted: true });
    expect((await c.request("GET", "/api/jwt/me")).status).toBe(200);
    await sleep(MAX_LAG + 50);
    const feed = await (await c.request("GET", "/api/strategies/feed")).json();
    expect(feed).toMatchObject({ paused: true, failedClosed: true, held: 1 });
    expect(await check(c, "jwt")).toMatchObject({ status: 503, reason: "revocation_stale" });
    // Other strategies are not held back.
    const id = await signedInClient(app, "id");
    expect((await check(id, "id")).accepted).toBe(true);
    await c.request("POST", "/api/strategies/feed", { paused: false });
    const after = await check(c, "jwt");
    expect(after).toMatchObject({ status: 401, reason: "revoked" });
    expect(after.feed?.heardAfterMs).toBeGreaterThanOrEqual(MAX_LAG);
  });

  it("refuses a cross-site or malformed pause", async () => {
    const c = await signedInClient(app, "jwt");
    const crossSite = await c.request(
      "POST",
      "/api/strategies/feed",
      { paused: true },
      { origin: "https://evil.example" },
    );
    expect(crossSite.status).toBe(403);
    for (const body of [{ paused: "yes" }, {}, { paused: 1 }]) {
      expect((await c.request("POST", "/api/strategies/feed", body)).status).toBe(400);
    }
    const feed = (await (await c.request("GET", "/api/strategies/feed")).json()) as {
      paused: boolean;
    };
    expect(feed.paused).toBe(false);
  });
});

describe("side by side: the default reference app", () => {
  it("gives the page its lab switch and maxLag", async () => {
    const { app } = referenceApp();
    const page = await (await appClient(app).request("GET", "/strategies")).text();
    expect(page).toContain("--lab");
    expect(page).not.toContain('id="feed-pause"');
  });
});
