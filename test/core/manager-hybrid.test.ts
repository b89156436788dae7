import { describe, expect, it } from "vitest";
import { createSessionManager, type SessionManagerOptions } from "../../src/index.js";
import { memoryStore } from "../../src/stores/memory/index.js";
import { generateKeySet } from "../../src/tokens/index.js";
import { cookiesOf, manualClock, ORIGIN, requestWith } from "../helpers/manager.js";

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
/** The `__Host-` cookie that binds a session's refresh cookie to the browser it went to. */
const bindingOf = (issued: { headers: Headers }) =>
  cookiesOf(issued.headers).get("__Host-rtb") ?? "";
const refreshRequest = (token: string, binding: string) =>
  requestWith({
    method: "POST",
    cookie: `__Secure-rt=${token}; __Host-rtb=${binding}`,
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
    const refreshed = await manager.refresh(
      refreshRequest(issued.refreshToken ?? "", bindingOf(issued)),
    );
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
      Array.from({ length: 20 }, () =>
        manager.refresh(refreshRequest(issued.refreshToken ?? "", bindingOf(issued))),
      ),
    );
    expect(results.every((r) => r.session !== null)).toBe(true);
    expect(new Set(results.map((r) => r.refreshToken)).size).toBe(1);
  });

  it("within the grace the replaced token gets the same successor; after it, reuse revokes the session", async () => {
    const { manager, clock, reuses } = setup();
    const issued = await manager.create({ userId: "u1" });
    const first = await manager.refresh(
      refreshRequest(issued.refreshToken ?? "", bindingOf(issued)),
    );
    clock.advance(5_000);
    const late = await manager.refresh(
      refreshRequest(issued.refreshToken ?? "", bindingOf(issued)),
    );
    expect(late.refreshToken).toBe(first.refreshToken);
    clock.advance(6_000);
    const reuse = await manager.refresh(
      refreshRequest(issued.refreshToken ?? "", bindingOf(issued)),
    );
    expect(reuse.failure).toEqual({ reason: "reused", status: 401, transport: "cookie" });
    expect(reuses).toEqual([issued.session.id]);
    // The whole family is gone: the successor refresh token and the live access token too.
    expect(
      (await manager.refresh(refreshRequest(first.refreshToken ?? "", bindingOf(issued)))).session,
    ).toBeNull();
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
      cookie: `__Secure-rt=${cookie.refreshToken}; __Host-rtb=${bindingOf(cookie)}`,
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
      const r = await manager.refresh(refreshRequest(refreshToken, bindingOf(pair)));
      expect(r.session, `refresh ${t}`).not.toBeNull();
      refreshToken = r.refreshToken ?? "";
    }
    clock.advance(6 * MIN); // 60 minutes since sign-in
    expect(
      (await manager.refresh(refreshRequest(refreshToken, bindingOf(pair)))).session,
    ).toBeNull();
    pair = await manager.create({ userId: "u1" });
    expect(pair.session).not.toBeNull();
  });
});

/** What a browser sends to a path other than the refresh route: every cookie but `__Secure-rt`. */
const browserCookies = (issued: { headers: Headers }, except = "__Secure-rt") =>
  [...cookiesOf(issued.headers)]
    .filter(([name]) => name !== except)
    .map(([name, value]) => `${name}=${value}`)
    .join("; ");
const cleared = (headers: Headers) =>
  headers
    .getSetCookie()
    .filter((line) => /Max-Age=0/.test(line))
    .map((line) => line.slice(0, line.indexOf("=")));

describe("hybrid refresh-token reuse of older generations", () => {
  /** A cookie session refreshed `times` times, `every` ms apart: every refresh token, oldest first. */
  async function rotated(times: number, every = 11_000) {
    const ctx = setup();
    const issued = await ctx.manager.create({ userId: "u1" });
    const binding = bindingOf(issued);
    const tokens = [issued.refreshToken ?? ""];
    let access = issued.token;
    for (let i = 0; i < times; i++) {
      ctx.clock.advance(every);
      const next = await ctx.manager.refresh(refreshRequest(tokens.at(-1) ?? "", binding));
      expect(next.failure, `refresh ${i + 1}`).toBeNull();
      tokens.push(next.refreshToken ?? "");
      access = next.accessToken ?? "";
    }
    return { ...ctx, issued, binding, tokens, access };
  }

  it("a refresh token two rotations old, after the grace, revokes the session: refresh and access tokens", async () => {
    const { manager, clock, reuses, issued, binding, tokens, access } = await rotated(2);
    clock.advance(11_000);
    const reuse = await manager.refresh(refreshRequest(tokens[0] ?? "", binding));
    expect(reuse.failure).toEqual({ reason: "reused", status: 401, transport: "cookie" });
    expect(reuses).toEqual([issued.session.id]);
    expect(await manager.get(issued.session.id)).toBeNull();
    expect((await manager.refresh(refreshRequest(tokens[2] ?? "", binding))).session).toBeNull();
    expect((await manager.authenticate(withAccess(access))).failure?.reason).toBe("revoked");
  });

  it("a token whose own grace is over is reuse even right after a newer rotation", async () => {
    const { manager, clock, reuses, issued, binding, tokens } = await rotated(2);
    clock.advance(1_000); // 1 s after the last rotation, 12 s after the first one
    const reuse = await manager.refresh(refreshRequest(tokens[0] ?? "", binding));
    expect(reuse.failure?.reason).toBe("reused");
    expect(reuses).toEqual([issued.session.id]);
    expect(await manager.get(issued.session.id)).toBeNull();
  });

  it("a token two rotations old still inside its own grace (two refreshes within it) is refused and revokes nothing; after it, reuse", async () => {
    const { manager, clock, reuses, issued, binding, tokens } = await rotated(2, 2_000);
    // Replaced 3 s ago, then its successor 1 s ago: a tab that lost both races may hold it.
    clock.advance(1_000);
    const early = await manager.refresh(refreshRequest(tokens[0] ?? "", binding));
    expect(early.failure?.reason).toBe("bad_secret");
    expect(reuses).toEqual([]);
    expect(await manager.get(issued.session.id)).not.toBeNull();
    clock.advance(10_000); // past the grace of both rotations
    expect((await manager.refresh(refreshRequest(tokens[0] ?? "", binding))).failure?.reason).toBe(
      "reused",
    );
    expect(reuses).toEqual([issued.session.id]);
  });

  it("a token retired inside its grace is reuse once a later rotation came after that grace", async () => {
    const { manager, clock, reuses, issued, binding, tokens } = await rotated(2, 2_000);
    clock.advance(11_000);
    const third = await manager.refresh(refreshRequest(tokens[2] ?? "", binding));
    expect(third.failure).toBeNull();
    clock.advance(1_000); // inside the grace of that third rotation
    expect((await manager.refresh(refreshRequest(tokens[0] ?? "", binding))).failure?.reason).toBe(
      "reused",
    );
    expect(reuses).toEqual([issued.session.id]);
  });

  it("a forged secret under the session's real id is refused and revokes nothing", async () => {
    const { manager, clock, reuses, issued, binding, tokens } = await rotated(3);
    clock.advance(11_000);
    const forged = `${issued.session.id}.${"A".repeat(42)}A`;
    expect((await manager.refresh(refreshRequest(forged, binding))).failure?.reason).toBe(
      "bad_secret",
    );
    expect(reuses).toEqual([]);
    expect((await manager.refresh(refreshRequest(tokens[3] ?? "", binding))).session?.id).toBe(
      issued.session.id,
    );
  });

  it("the id strategy keeps refusing a token renewed away without revoking: it stores no older secrets", async () => {
    const ctx = setup({
      strategy: "id",
      lifetimes: { idle: "30m", absolute: "12h", renewal: "1m", grace: "10s" },
    });
    const issued = await ctx.manager.create({ userId: "u1", transport: "header" });
    const tokens = [issued.token];
    for (let i = 0; i < 3; i++) {
      ctx.clock.advance(61_000);
      const r = await ctx.manager.authenticate(requestWith({ bearer: tokens.at(-1) ?? "" }));
      expect(r.session).not.toBeNull();
      tokens.push(r.headers.get("x-session-token") ?? "");
    }
    expect(new Set(tokens).size).toBe(4);
    const record = await ctx.common.store.get(issued.session.id, ctx.clock.now());
    expect(record?.previousSecretHash).not.toContain(".");
    const old = await ctx.manager.authenticate(requestWith({ bearer: tokens[0] ?? "" }));
    expect(old.failure?.reason).toBe("bad_secret");
    expect(await ctx.manager.get(issued.session.id)).not.toBeNull();
  });
});

describe("hybrid sign-out", () => {
  it("after the access token lapsed, sign-out still revokes the session and clears every cookie; the old refresh cookie is dead", async () => {
    const { manager, clock } = setup();
    const issued = await manager.create({ userId: "u1" });
    const binding = cookiesOf(issued.headers).get("__Host-rtb") ?? "";
    clock.advance(5 * MIN + 31_000); // past the access token's exp and the verifier's skew
    expect((await manager.authenticate(withAccess(issued.token))).failure?.reason).toBe("expired");
    const out = await manager.logout(
      requestWith({
        method: "POST",
        cookie: browserCookies(issued),
        headers: { "sec-fetch-site": "same-origin" },
      }),
    );
    expect(out.revoked).toBe(true);
    expect(out.failure).toBeNull();
    expect(cleared(out.headers).sort()).toEqual(
      ["__Host-at", "__Host-csrf", "__Host-rtb", "__Secure-rt"].sort(),
    );
    expect(out.headers.getSetCookie().find((l) => l.startsWith("__Secure-rt="))).toMatch(
      /Path=\/api\/hybrid\/refresh/,
    );
    const again = await manager.refresh(
      requestWith({
        method: "POST",
        cookie: `__Secure-rt=${issued.refreshToken}; __Host-rtb=${binding}`,
        headers: { "sec-fetch-site": "same-origin" },
      }),
    );
    expect(again.session).toBeNull();
    expect(await manager.get(issued.session.id)).toBeNull();
  });

  it("a lapsed access token with a forged signature, or another audience, proves nothing", async () => {
    const { manager, clock, common } = setup();
    const issued = await manager.create({ userId: "u1" });
    const other = createSessionManager({
      ...common,
      strategy: "hybrid",
      audience: "another-app",
      cleanup: false,
    });
    const foreign = await other.create({ userId: "u1" });
    clock.advance(6 * MIN);
    const [head, body] = issued.token.split(".");
    const forged = `${head}.${body}.${"A".repeat(86)}`;
    for (const token of [forged, foreign.token]) {
      const out = await manager.logout(
        requestWith({
          method: "POST",
          cookie: `__Host-at=${token}`,
          headers: { "sec-fetch-site": "same-origin" },
        }),
      );
      expect(out.revoked).toBe(false);
      expect(out.failure?.status).toBe(401);
      expect(cleared(out.headers)).toContain("__Secure-rt");
    }
    expect(await manager.get(issued.session.id)).not.toBeNull();
    other.close();
  });

  it("a cross-site sign-out is refused (403) and revokes nothing, lapsed token or not", async () => {
    const { manager, clock } = setup();
    const issued = await manager.create({ userId: "u1" });
    for (const advance of [0, 6 * MIN]) {
      clock.advance(advance);
      const out = await manager.logout(
        requestWith({
          method: "POST",
          cookie: browserCookies(issued),
          headers: { origin: "https://evil.example" },
        }),
      );
      expect(out.failure).toEqual({ reason: "csrf", status: 403, transport: "cookie" });
      expect(out.revoked).toBe(false);
      expect(cleared(out.headers)).toEqual([]);
    }
    expect(await manager.get(issued.session.id)).not.toBeNull();
  });

  it("with only the binding cookie left (the access cookie cleared by a 401), sign-out still ends the session", async () => {
    const { manager } = setup();
    const issued = await manager.create({ userId: "u1" });
    const out = await manager.logout(
      requestWith({
        method: "POST",
        cookie: `__Host-rtb=${cookiesOf(issued.headers).get("__Host-rtb")}`,
        headers: { "sec-fetch-site": "same-origin" },
      }),
    );
    expect(out.revoked).toBe(true);
    expect(await manager.get(issued.session.id)).toBeNull();
  });
});

describe("hybrid refresh cookie binding (cookie tossing)", () => {
  it("sets a __Host- binding cookie beside the refresh cookie, for cookie transport only", async () => {
    const { manager } = setup();
    const issued = await manager.create({ userId: "u1" });
    const line = issued.headers.getSetCookie().find((l) => l.startsWith("__Host-rtb="));
    expect(line).toMatch(
      /^__Host-rtb=[\w-]{22}\.[\w-]{43}; Path=\/; Max-Age=43200; HttpOnly; Secure; SameSite=Lax$/,
    );
    const header = await manager.create({ userId: "u1", transport: "header" });
    expect(header.headers.getSetCookie()).toEqual([]);
  });

  it("a planted refresh cookie (the attacker's own, valid) without its binding is refused and signs no one in", async () => {
    const { manager } = setup();
    const attacker = await manager.create({ userId: "attacker" });
    const victim = await manager.create({ userId: "victim" });
    const victimBinding = cookiesOf(victim.headers).get("__Host-rtb");
    const planted = `__Secure-rt=${attacker.refreshToken}`;
    for (const cookie of [planted, `${planted}; __Host-rtb=${victimBinding}`]) {
      const result = await manager.refresh(
        requestWith({ method: "POST", cookie, headers: { "sec-fetch-site": "same-origin" } }),
      );
      expect(result.session).toBeNull();
      expect(result.failure?.status).toBe(401);
      expect(cookiesOf(result.headers).get("__Host-at") ?? "").toBe("");
    }
    // The attacker's token was not rotated by those attempts: with its own binding it still works.
    const own = await manager.refresh(
      requestWith({
        method: "POST",
        cookie: `${planted}; __Host-rtb=${cookiesOf(attacker.headers).get("__Host-rtb")}`,
        headers: { "sec-fetch-site": "same-origin" },
      }),
    );
    expect(own.session?.userId).toBe("attacker");
  });

  it("duplicate refresh or binding cookies are refused as ambiguous", async () => {
    const { manager } = setup();
    const issued = await manager.create({ userId: "u1" });
    const other = await manager.create({ userId: "u2" });
    const binding = cookiesOf(issued.headers).get("__Host-rtb");
    for (const cookie of [
      `__Secure-rt=${other.refreshToken}; __Secure-rt=${issued.refreshToken}; __Host-rtb=${binding}`,
      `__Secure-rt=${issued.refreshToken}; __Host-rtb=${binding}; __Host-rtb=${binding}`,
    ]) {
      const result = await manager.refresh(
        requestWith({ method: "POST", cookie, headers: { "sec-fetch-site": "same-origin" } }),
      );
      expect(result.failure?.reason).toBe("ambiguous_cookie");
    }
  });

  it("header transport (the refresh token in the body) needs no binding cookie", async () => {
    const { manager } = setup();
    const issued = await manager.create({ userId: "u1", transport: "header" });
    const viaBody = await manager.refresh(requestWith({ method: "POST" }), {
      refreshToken: issued.refreshToken ?? "",
    });
    expect(viaBody.session?.id).toBe(issued.session.id);
  });
});

describe("hybrid: boundSessionId (is a silent refresh worth a request?)", () => {
  it("names the session of a genuine binding cookie, and nothing for a forged, junk or absent one", async () => {
    const { manager } = setup();
    const issued = await manager.create({ userId: "u1" });
    const binding = bindingOf(issued);
    expect(manager.boundSessionId(requestWith({ cookie: `__Host-rtb=${binding}` }))).toBe(
      issued.session.id,
    );
    const sid = issued.session.id;
    const forged = `${sid}.${"A".repeat(binding.length - sid.length - 1)}`;
    for (const cookie of [`__Host-rtb=${forged}`, `__Host-rtb=${sid}`, "__Host-rtb=junk", ""]) {
      expect(manager.boundSessionId(requestWith({ cookie })), cookie).toBeNull();
    }
  });

  it("is null for the id and jwt strategies", async () => {
    for (const strategy of ["id", "jwt"] as const) {
      const { manager } = setup({ strategy });
      const issued = await manager.create({ userId: "u1" });
      const cookie = [...cookiesOf(issued.headers)].map(([k, v]) => `${k}=${v}`).join("; ");
      expect(manager.boundSessionId(requestWith({ cookie })), strategy).toBeNull();
    }
  });
});

describe("clearCookies", () => {
  it("clears every cookie a manager sets, each with the path it was set with", async () => {
    const { manager } = setup();
    const issued = await manager.create({ userId: "u1" });
    const setPaths = new Map(
      issued.headers.getSetCookie().map((line) => {
        const name = line.slice(0, line.indexOf("="));
        return [name, /Path=([^;]+)/.exec(line)?.[1]] as const;
      }),
    );
    const cleared = manager.clearCookies().getSetCookie();
    for (const [name, path] of setPaths) {
      const line = cleared.find((c) => c.startsWith(`${name}=;`));
      expect(line, name).toMatch(/Max-Age=0/);
      expect(/Path=([^;]+)/.exec(line ?? "")?.[1], name).toBe(path);
    }
    const { manager: id } = setup({ strategy: "id" });
    const names = id
      .clearCookies()
      .getSetCookie()
      .map((c) => c.slice(0, c.indexOf("=")));
    expect(names).toContain(id.cookieNames.session);
    expect(names).not.toContain(manager.cookieNames.refresh);
  });
});
