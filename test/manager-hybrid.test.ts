import { describe, expect, it } from "vitest";
import { createSessionManager, type SessionManagerOptions } from "../src/index.js";
import { memoryStore } from "../src/stores/memory/index.js";
import { generateKeySet } from "../src/tokens/index.js";
import { cookiesOf, manualClock, ORIGIN, requestWith } from "./helpers/manager.js";

const keys = generateKeySet("EdDSA", "ed");
const MIN = 60_000;

function setup(overrides: Partial<SessionManagerOptions> = {}) {
  const clock = manualClock();
  const reuses: string[] = [];
  const store = memoryStore();
  const common = {
    store,
    keys,
    issuer: "https://app.example",
    audience: "app",
    clock: clock.now,
    cleanup: false as const,
  };
  const manager = createSessionManager({
    ...common,
    strategy: "hybrid",
    csrf: { origins: [ORIGIN] },
    lifetimes: { idle: "30m", absolute: "12h", access: "5m", grace: "10s" },
    events: { onRefreshReuse: (e) => reuses.push(e.sessionId) },
    ...overrides,
  });
  return { manager, clock, reuses, common };
}
const withAccess = (token: string) => requestWith({ cookie: `__Host-at=${token}` });
const refreshRequest = (token: string) =>
  requestWith({
    method: "POST",
    cookie: `__Secure-rt=${token}`,
    headers: { "sec-fetch-site": "same-origin" },
  });

describe("hybrid strategy", () => {
  it("issues an at+jwt access cookie and a refresh cookie scoped to the refresh route", async () => {
    const { manager } = setup();
    const issued = await manager.create({ userId: "u1" });
    const lines = issued.headers.getSetCookie();
    expect(lines[0]).toMatch(
      /^__Host-at=[\w-]+\.[\w-]+\.[\w-]+; Path=\/; Max-Age=43200; HttpOnly; Secure; SameSite=Lax$/,
    );
    expect(lines[1]).toMatch(
      /^__Secure-rt=[\w-]{22}\.[\w-]{43}; Path=\/api\/hybrid\/refresh; Max-Age=43200; HttpOnly; Secure; SameSite=Lax$/,
    );
    const header = JSON.parse(
      Buffer.from(issued.token.split(".")[0] ?? "", "base64url").toString(),
    );
    expect(header.typ).toBe("at+jwt");
    expect(issued.refreshToken?.split(".")[0]).toBe(issued.session.id);
    expect((await manager.authenticate(withAccess(issued.token))).session?.id).toBe(
      issued.session.id,
    );
  });

  it("never takes a refresh token for an access token, nor a jwt-strategy token", async () => {
    const { manager, common } = setup();
    const issued = await manager.create({ userId: "u1" });
    expect((await manager.authenticate(withAccess(issued.refreshToken ?? ""))).session).toBeNull();
    const jwtManager = createSessionManager({ ...common, strategy: "jwt" });
    const jwtToken = (await jwtManager.create({ userId: "u1" })).token;
    expect((await manager.authenticate(withAccess(jwtToken))).failure?.reason).toBe(
      "invalid_token",
    );
    expect(
      (await jwtManager.authenticate(requestWith({ bearer: issued.token }))).failure?.reason,
    ).toBe("invalid_token");
  });

  it("access tokens expire after their short lifetime; refresh issues a new pair and rotates", async () => {
    const { manager, clock } = setup();
    const issued = await manager.create({ userId: "u1" });
    clock.advance(5 * MIN + 31_000);
    expect((await manager.authenticate(withAccess(issued.token))).failure?.reason).toBe("expired");
    const refreshed = await manager.refresh(refreshRequest(issued.refreshToken ?? ""));
    expect(refreshed.session?.id).toBe(issued.session.id);
    expect(refreshed.refreshToken).not.toBe(issued.refreshToken);
    expect(cookiesOf(refreshed.headers).get("__Secure-rt")).toBe(refreshed.refreshToken);
    expect((await manager.authenticate(withAccess(refreshed.accessToken ?? ""))).session?.id).toBe(
      issued.session.id,
    );
  });

  it("20 parallel refreshes with one token: all succeed with one and the same successor", async () => {
    const { manager } = setup();
    const issued = await manager.create({ userId: "u1" });
    const results = await Promise.all(
      Array.from({ length: 20 }, () => manager.refresh(refreshRequest(issued.refreshToken ?? ""))),
    );
    expect(results.every((r) => r.session !== null)).toBe(true);
    expect(new Set(results.map((r) => r.refreshToken)).size).toBe(1);
  });

  it("within the grace the replaced token gets the same successor; after it, reuse revokes the session", async () => {
    const { manager, clock, reuses } = setup();
    const issued = await manager.create({ userId: "u1" });
    const first = await manager.refresh(refreshRequest(issued.refreshToken ?? ""));
    clock.advance(5_000);
    const late = await manager.refresh(refreshRequest(issued.refreshToken ?? ""));
    expect(late.refreshToken).toBe(first.refreshToken);
    clock.advance(6_000);
    const reuse = await manager.refresh(refreshRequest(issued.refreshToken ?? ""));
    expect(reuse.failure).toEqual({ reason: "reused", status: 401, transport: "cookie" });
    expect(reuses).toEqual([issued.session.id]);
    // The whole family is gone: the successor refresh token and the live access token too.
    expect((await manager.refresh(refreshRequest(first.refreshToken ?? ""))).session).toBeNull();
    expect((await manager.authenticate(withAccess(first.accessToken ?? ""))).failure?.reason).toBe(
      "revoked",
    );
  });

  it("refreshes from a body token for header transport, and refuses cross-site cookie refreshes", async () => {
    const { manager } = setup();
    const issued = await manager.create({ userId: "u1", transport: "header" });
    expect(issued.headers.getSetCookie()).toEqual([]);
    const viaBody = await manager.refresh(requestWith({ method: "POST" }), {
      refreshToken: issued.refreshToken ?? "",
    });
    expect(viaBody.session).not.toBeNull();
    expect(viaBody.headers.getSetCookie()).toEqual([]);
    const cookie = await manager.create({ userId: "u1" });
    const evil = requestWith({
      method: "POST",
      cookie: `__Secure-rt=${cookie.refreshToken}`,
      headers: { origin: "https://evil.example" },
    });
    expect((await manager.refresh(evil)).failure?.reason).toBe("csrf");
  });

  it("stops refreshing at the absolute lifetime", async () => {
    const { manager, clock } = setup({ lifetimes: { idle: "30m", absolute: "1h", access: "5m" } });
    let pair = await manager.create({ userId: "u1" });
    let refreshToken = pair.refreshToken ?? "";
    for (let t = 0; t < 3; t++) {
      clock.advance(18 * MIN);
      const r = await manager.refresh(refreshRequest(refreshToken));
      expect(r.session, `refresh ${t}`).not.toBeNull();
      refreshToken = r.refreshToken ?? "";
    }
    clock.advance(6 * MIN); // 60 minutes since sign-in
    expect((await manager.refresh(refreshRequest(refreshToken))).session).toBeNull();
    pair = await manager.create({ userId: "u1" });
    expect(pair.session).not.toBeNull();
  });
});
