import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  createSessionManager,
  isSessionError,
  type RevokeEvent,
  type StoredSession,
} from "../../src/index.js";
import { memoryStore } from "../../src/stores/memory/index.js";
import { cookiesOf, ORIGIN, requestWith, setup, withSid } from "../helpers/manager.js";

const MIN = 60_000;

describe("id strategy: issuing", () => {
  it("issues id.secret tokens of 16 + 32 random bytes in base64url", async () => {
    const { manager } = setup();
    const { token, session } = await manager.create({ userId: "u1" });
    expect(token).toMatch(/^[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}$/);
    expect(token.split(".")[0]).toBe(session.id);
  });

  it("stores only the SHA-256 of the secret, never the token", async () => {
    const store = memoryStore();
    const { manager } = setup({}, store);
    const { token, session } = await manager.create({ userId: "u1" });
    const secret = token.split(".")[1] ?? "";
    const record = (await store.get(session.id, Date.UTC(2027, 0, 1))) as StoredSession;
    expect(record.secretHash).toBe(createHash("sha256").update(secret).digest("base64url"));
    expect(JSON.stringify(record)).not.toContain(secret);
  });

  it("sets a __Host- cookie: HttpOnly, Secure, SameSite=Lax, Path=/, Max-Age at most the absolute lifetime", async () => {
    const { manager } = setup();
    const { headers, token } = await manager.create({ userId: "u1" });
    const [line] = headers.getSetCookie();
    expect(line).toBe(`__Host-sid=${token}; Path=/; Max-Age=43200; HttpOnly; Secure; SameSite=Lax`);
    expect(headers.get("cache-control")).toBe("no-store");
  });

  it("always creates a fresh session at sign-in and ends the one the request carried", async () => {
    const { manager } = setup();
    const first = await manager.create({ userId: "u1" });
    const second = await manager.create({ userId: "u1", request: withSid(first.token) });
    expect(second.session.id).not.toBe(first.session.id);
    expect((await manager.authenticate(withSid(first.token))).session).toBeNull();
  });

  it("ignores a well-formed token it never issued: no fixation", async () => {
    const { manager } = setup();
    const planted = `${"A".repeat(22)}.${"B".repeat(42)}A`;
    const result = await manager.authenticate(withSid(planted));
    expect(result.session).toBeNull();
    expect(result.failure?.reason).toBe("unknown_session");
    const issued = await manager.create({ userId: "victim", request: withSid(planted) });
    expect(issued.token).not.toBe(planted);
    expect(issued.session.id).not.toBe(planted.split(".")[0]);
  });

  it("evicts the oldest sessions past maxSessionsPerUser and reports them", async () => {
    const revoked: RevokeEvent[] = [];
    const { manager, clock } = setup({
      maxSessionsPerUser: 2,
      events: { onRevoke: (e) => revoked.push(e) },
    });
    const a = await manager.create({ userId: "u1" });
    clock.advance(1);
    const b = await manager.create({ userId: "u1" });
    clock.advance(1);
    const c = await manager.create({ userId: "u1" });
    expect((await manager.list("u1")).map((s) => s.id)).toEqual([b.session.id, c.session.id]);
    expect(revoked).toEqual([{ sessionId: a.session.id, userId: "u1", reason: "evicted" }]);
    expect((await manager.authenticate(withSid(a.token))).session).toBeNull();
  });
});

describe("id strategy: authenticating", () => {
  it("accepts its token from the cookie and from Authorization: Bearer", async () => {
    const { manager } = setup();
    const { token } = await manager.create({ userId: "u1", data: { role: "admin" } });
    const byCookie = await manager.authenticate(withSid(token));
    expect(byCookie.session?.userId).toBe("u1");
    expect(byCookie.session?.data).toEqual({ role: "admin" });
    expect(byCookie.session?.transport).toBe("cookie");
    const byHeader = await manager.authenticate(requestWith({ bearer: token }));
    expect(byHeader.session?.transport).toBe("header");
  });

  it("refuses a token whose secret was altered, and clears the cookie", async () => {
    const { manager } = setup();
    const { token } = await manager.create({ userId: "u1" });
    const flipped = token.slice(0, -2) + (token.endsWith("AA") ? "AQ" : "AA");
    const result = await manager.authenticate(withSid(flipped));
    expect(result.failure?.reason).toBe("bad_secret");
    expect(cookiesOf(result.headers).get("__Host-sid")).toBe("");
  });

  it("refuses duplicate and case-variant session cookies", async () => {
    const { manager } = setup();
    const { token } = await manager.create({ userId: "u1" });
    const twice = await manager.authenticate(
      requestWith({ cookie: `__Host-sid=${token}; __Host-sid=${token}` }),
    );
    expect(twice.failure?.reason).toBe("ambiguous_cookie");
    const variant = await manager.authenticate(
      requestWith({ cookie: `__host-sid=x; __Host-sid=${token}` }),
    );
    expect(variant.failure?.reason).toBe("ambiguous_cookie");
  });

  it("treats a malformed Authorization header as a failure, not as a fall-back to the cookie", async () => {
    const { manager } = setup();
    const { token } = await manager.create({ userId: "u1" });
    const request = requestWith({
      cookie: `__Host-sid=${token}`,
      headers: { authorization: "Basic abc" },
    });
    const result = await manager.authenticate(request);
    expect(result.failure).toEqual({ reason: "malformed", status: 401, transport: "header" });
  });

  it("expires after the idle time without activity", async () => {
    const { manager, clock } = setup();
    const { token } = await manager.create({ userId: "u1" });
    clock.advance(30 * MIN - 1);
    expect((await manager.authenticate(withSid(token))).session).not.toBeNull();
    clock.advance(30 * MIN);
    expect((await manager.authenticate(withSid(token))).session).toBeNull();
  });

  it("slides the idle deadline on activity but never past the absolute lifetime", async () => {
    const { manager, clock } = setup({
      lifetimes: { idle: "30m", absolute: "2h", renewal: "12h" },
    });
    const { token } = await manager.create({ userId: "u1" });
    for (let t = 0; t < 5; t++) {
      clock.advance(20 * MIN);
      const { session } = await manager.authenticate(withSid(token));
      expect(session, `after ${(t + 1) * 20} minutes`).not.toBeNull();
    }
    expect((await manager.authenticate(withSid(token))).session?.expiresAt.getTime()).toBe(
      Date.UTC(2027, 0, 1) + 2 * 60 * MIN,
    );
    clock.advance(20 * MIN);
    expect((await manager.authenticate(withSid(token))).session).toBeNull();
  });

  it("writes activity to the store at most once per idle/10", async () => {
    const store = memoryStore();
    let touches = 0;
    const counting = {
      ...store,
      touch: (...args: Parameters<typeof store.touch>) => {
        touches++;
        return store.touch(...args);
      },
    };
    const { manager, clock } = setup({}, counting);
    const { token } = await manager.create({ userId: "u1" });
    for (let i = 0; i < 30; i++) {
      clock.advance(10_000);
      await manager.authenticate(withSid(token));
    }
    // 300 s of requests every 10 s with idle 30 m: a touch every 180 s at most.
    expect(touches).toBe(1);
  });
});

/** Uses the session every 20 minutes (inside the idle time) for `minutes`. */
async function keepAlive(
  manager: ReturnType<typeof setup>["manager"],
  clock: ReturnType<typeof setup>["clock"],
  token: string,
  minutes: number,
) {
  for (let t = 0; t < minutes; t += 20) {
    clock.advance(Math.min(20, minutes - t) * MIN - (t + 20 >= minutes ? 1 : 0));
    if (t + 20 < minutes)
      expect((await manager.authenticate(withSid(token))).headers.getSetCookie()).toEqual([]);
  }
  clock.advance(1);
}

describe("id strategy: renewal", () => {
  it("after the renewal time, issues a new token for the same session", async () => {
    const { manager, clock } = setup();
    const { token, session } = await manager.create({ userId: "u1" });
    await keepAlive(manager, clock, token, 60);
    const result = await manager.authenticate(withSid(token));
    const renewed = cookiesOf(result.headers).get("__Host-sid") ?? "";
    expect(renewed).toMatch(/^[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}$/);
    expect(renewed).not.toBe(token);
    expect(renewed.split(".")[0]).toBe(session.id);
    expect((await manager.authenticate(withSid(renewed))).session?.id).toBe(session.id);
  });

  it("honours the previous token only during the grace, handing over the same successor", async () => {
    const { manager, clock } = setup();
    const { token } = await manager.create({ userId: "u1" });
    await keepAlive(manager, clock, token, 60);
    const renewed = cookiesOf((await manager.authenticate(withSid(token))).headers).get(
      "__Host-sid",
    );
    clock.advance(5_000);
    const late = await manager.authenticate(withSid(token));
    expect(late.session).not.toBeNull();
    expect(cookiesOf(late.headers).get("__Host-sid")).toBe(renewed);
    clock.advance(5_000);
    // Past the grace the replaced token is refused (and recognised as a replaced one).
    const stale = await manager.authenticate(withSid(token));
    expect(stale.failure?.reason).toBe("reused");
    // Without clearing the cookie: a late request's answer would delete the browser's successor.
    expect(stale.headers.getSetCookie()).toEqual([]);
    expect((await manager.authenticate(withSid(renewed ?? ""))).session).not.toBeNull();
  });

  it("clears the cookie of a session that is gone or a secret that never was", async () => {
    const { manager } = setup();
    const { token, session } = await manager.create({ userId: "u1" });
    const forged = `${session.id}.${"A".repeat(42)}A`;
    const bad = await manager.authenticate(withSid(forged));
    expect(bad.failure?.reason).toBe("bad_secret");
    expect(bad.headers.getSetCookie().join()).toMatch(/__Host-sid=;.*Max-Age=0/);
    await manager.revoke(session.id);
    const gone = await manager.authenticate(withSid(token));
    expect(gone.headers.getSetCookie().join()).toMatch(/__Host-sid=;.*Max-Age=0/);
  });

  it("gives every concurrent request at renewal time the same new token", async () => {
    const { manager, clock } = setup();
    const { token } = await manager.create({ userId: "u1" });
    await keepAlive(manager, clock, token, 60);
    const results = await Promise.all(
      Array.from({ length: 12 }, () => manager.authenticate(withSid(token))),
    );
    const tokens = new Set(results.map((r) => cookiesOf(r.headers).get("__Host-sid")));
    expect(results.every((r) => r.session !== null)).toBe(true);
    expect(tokens.size).toBe(1);
    expect([...tokens][0]).not.toBe(token);
  });

  it("returns a renewed token to header-transport clients in x-session-token", async () => {
    const { manager, clock } = setup();
    const { token } = await manager.create({ userId: "u1", transport: "header" });
    await keepAlive(manager, clock, token, 60);
    const result = await manager.authenticate(requestWith({ bearer: token }));
    expect(result.renewedToken).toMatch(/\./);
    expect(result.headers.get("x-session-token")).toBe(result.renewedToken);
    expect(result.headers.getSetCookie()).toEqual([]);
  });
});

describe("id strategy: CSRF on unsafe methods with cookies", () => {
  const post = (token: string, headers: Record<string, string> = {}) =>
    withSid(token, { method: "POST", headers });

  it("refuses a cookie-authenticated POST without same-origin proof", async () => {
    const { manager } = setup();
    const { token } = await manager.create({ userId: "u1" });
    const attempts: Array<Record<string, string>> = [
      {},
      { origin: "https://evil.example" },
      { origin: "null" },
      { "sec-fetch-site": "cross-site" },
    ];
    for (const headers of attempts) {
      const result = await manager.authenticate(post(token, headers));
      expect(result.failure, JSON.stringify(headers)).toEqual({
        reason: "csrf",
        status: 403,
        transport: "cookie",
      });
    }
  });

  it("allows same-origin Fetch Metadata, an allowed Origin, or a valid token", async () => {
    const { manager } = setup();
    const { token, session } = await manager.create({ userId: "u1" });
    expect(
      (await manager.authenticate(post(token, { "sec-fetch-site": "same-origin" }))).session,
    ).not.toBeNull();
    expect((await manager.authenticate(post(token, { origin: ORIGIN }))).session).not.toBeNull();
    const csrf = manager.csrfToken(session).token;
    expect(
      (await manager.authenticate(post(token, { "x-csrf-token": csrf }))).session,
    ).not.toBeNull();
  });

  it("refuses a CSRF token minted for another session", async () => {
    const { manager } = setup();
    const mine = await manager.create({ userId: "u1" });
    const theirs = await manager.create({ userId: "u2" });
    const foreign = manager.csrfToken(theirs.session).token;
    const result = await manager.authenticate(post(mine.token, { "x-csrf-token": foreign }));
    expect(result.failure?.reason).toBe("csrf");
  });

  it("does not apply to Bearer requests, which a browser never sends cross-site on its own", async () => {
    const { manager } = setup();
    const { token } = await manager.create({ userId: "u1" });
    const result = await manager.authenticate(requestWith({ bearer: token, method: "POST" }));
    expect(result.session).not.toBeNull();
  });
});

describe("id strategy: management", () => {
  it("lists a user's sessions with the current one marked, and revokes", async () => {
    const { manager, clock } = setup();
    const a = await manager.create({ userId: "u1", ip: "198.51.100.1", userAgent: "UA-1" });
    clock.advance(1);
    const b = await manager.create({ userId: "u1" });
    await manager.create({ userId: "u2" });
    const list = await manager.list("u1", { current: a.session.id });
    expect(list.map((s) => [s.id, s.current])).toEqual([
      [a.session.id, true],
      [b.session.id, false],
    ]);
    expect(list[0]).toMatchObject({ ip: "198.51.100.1", userAgent: "UA-1" });
    expect(await manager.revoke(b.session.id)).toBe(true);
    expect(await manager.revoke(b.session.id)).toBe(false);
    expect(await manager.revoke("not-an-id")).toBe(false);
    expect((await manager.authenticate(withSid(b.token))).session).toBeNull();
  });

  it("revokeUser ends every session of the user except the one named", async () => {
    const { manager } = setup();
    const keep = await manager.create({ userId: "u1" });
    const drop = await manager.create({ userId: "u1" });
    const other = await manager.create({ userId: "u2" });
    expect(await manager.revokeUser("u1", { except: keep.session.id })).toEqual([drop.session.id]);
    expect((await manager.authenticate(withSid(keep.token))).session).not.toBeNull();
    expect((await manager.authenticate(withSid(other.token))).session).not.toBeNull();
    expect(await manager.revokeUser("u1")).toEqual([keep.session.id]);
  });

  it("logout revokes server-side and clears the cookies", async () => {
    const { manager } = setup();
    const { token } = await manager.create({ userId: "u1" });
    const { revoked, headers } = await manager.logout(withSid(token));
    expect(revoked).toBe(true);
    expect([...cookiesOf(headers).entries()]).toEqual([
      ["__Host-sid", ""],
      ["__Host-csrf", ""],
    ]);
    expect((await manager.authenticate(withSid(token))).session).toBeNull();
  });

  it("refuses a cross-site sign-out that carries no cookie (SameSite=Lax kept it back) without clearing anything", async () => {
    const { manager } = setup();
    // A form on another site posting to the sign-out route: the browser sends no cookie, but
    // a clearing answer would still delete it (logout CSRF).
    const crossSite = requestWith({
      method: "POST",
      headers: { origin: "https://evil.example", "sec-fetch-site": "cross-site" },
    });
    const refused = await manager.logout(crossSite);
    expect(refused.failure?.status).toBe(403);
    expect(refused.headers.getSetCookie()).toEqual([]);
    // The same without a cookie from the site itself: 401, and the cookies cleared anyway.
    const own = requestWith({ method: "POST", headers: { "sec-fetch-site": "same-origin" } });
    const signedOut = await manager.logout(own);
    expect(signedOut.failure?.status).toBe(401);
    expect(signedOut.headers.getSetCookie().length).toBeGreaterThan(0);
  });

  it("keeps both of two concurrent updates to different fields", async () => {
    const { manager } = setup();
    const { session } = await manager.create({ userId: "u1", data: { a: 0, b: 0 } });
    await Promise.all([manager.update(session.id, { a: 1 }), manager.update(session.id, { b: 2 })]);
    const after = await manager.get(session.id);
    expect(after?.data).toEqual({ a: 1, b: 2 });
    expect(after?.version).toBe(2);
  });

  it("gives up with UPDATE_CONFLICT when the data never stops changing underneath", async () => {
    const { manager, store, clock } = setup();
    const { session } = await manager.create({ userId: "u1", data: { n: 0 } });
    let version = 0;
    const error = await manager
      .update(session.id, (data) => {
        // Another writer lands between every read and write of this update.
        void store.update(session.id, {
          now: clock.now(),
          expectedVersion: version++,
          data: { other: version },
        });
        return { ...data, n: 1 };
      })
      .catch((e: unknown) => e);
    expect(isSessionError(error, "UPDATE_CONFLICT")).toBe(true);
  });

  it("requireRecentAuth passes within the window and throws RECENT_AUTH_REQUIRED after", async () => {
    const { manager, clock } = setup();
    const { session } = await manager.create({ userId: "u1" });
    expect(() => manager.requireRecentAuth(session, "10m")).not.toThrow();
    clock.advance(10 * MIN + 1);
    let error: unknown;
    try {
      manager.requireRecentAuth(session, "10m");
    } catch (e) {
      error = e;
    }
    expect(isSessionError(error, "RECENT_AUTH_REQUIRED")).toBe(true);
  });
});

describe("id strategy: events, validation and store failures", () => {
  it("fires onCreate, onNewDevice for an unseen user agent only, and survives a throwing handler", async () => {
    const seen: string[] = [];
    const { manager } = setup({
      events: {
        onCreate: (s) => {
          seen.push(`create:${s.userAgent}`);
          throw new Error("audit sink down");
        },
        onNewDevice: (s) => seen.push(`new:${s.userAgent}`),
      },
    });
    await manager.create({ userId: "u1", userAgent: "Phone" });
    await manager.create({ userId: "u1", userAgent: "Phone" });
    await manager.create({ userId: "u1", userAgent: "Laptop" });
    expect(seen).toEqual([
      "create:Phone",
      "new:Phone",
      "create:Phone",
      "create:Laptop",
      "new:Laptop",
    ]);
  });

  it("reports expiries found by the background cleanup", async () => {
    const expired: string[] = [];
    const { manager, clock } = setup({
      cleanup: { interval: 20, batch: 10 },
      events: { onExpire: (e) => expired.push(e.sessionId) },
    });
    const { session } = await manager.create({ userId: "u1" });
    clock.advance(31 * MIN);
    await new Promise((resolve) => setTimeout(resolve, 80));
    manager.close();
    expect(expired).toEqual([session.id]);
  });

  it("rejects session data that fails the schema when read back", async () => {
    const schema = {
      "~standard": {
        version: 1 as const,
        vendor: "test",
        validate: (value: unknown) =>
          typeof (value as { role?: unknown }).role === "string"
            ? { value: value as { role: string } }
            : { issues: [{ message: "role must be a string" }] },
      },
    };
    const { manager } = setup({ schema });
    const good = await manager.create({ userId: "u1", data: { role: "admin" } });
    const bad = await manager.create({ userId: "u1", data: { role: 7 } });
    expect((await manager.authenticate(withSid(good.token))).session?.data).toEqual({
      role: "admin",
    });
    expect((await manager.authenticate(withSid(bad.token))).failure?.reason).toBe("invalid_data");
  });

  it("fails closed by default when the store is unreachable, or signs out in anonymous mode", async () => {
    const { sqliteStore } = await import("../../src/stores/sqlite/index.js");
    const store = sqliteStore({ path: ":memory:" });
    const closed = setup({}, store);
    const { token } = await closed.manager.create({ userId: "u1" });
    await store.close();
    const error = await closed.manager.authenticate(withSid(token)).catch((e: unknown) => e);
    expect(isSessionError(error, "STORE_UNAVAILABLE")).toBe(true);
    const anonymous = setup({ onStoreError: "anonymous" }, store);
    const result = await anonymous.manager.authenticate(withSid(token));
    expect(result.failure).toEqual({
      reason: "store_unavailable",
      status: 503,
      transport: "cookie",
    });
  });
});

describe("configuration is checked once, at construction", () => {
  const store = memoryStore();
  const bad: Array<[string, Record<string, unknown>]> = [
    ["unknown strategy", { strategy: "cookies" }],
    ["idle longer than absolute", { lifetimes: { idle: "2h", absolute: "1h" } }],
    ["unparsable duration", { lifetimes: { idle: "soon" } }],
    ["origin with a path", { csrf: { origins: ["https://app.example/login"] } }],
    ["zero session cap", { maxSessionsPerUser: 0 }],
    ["unknown store error mode", { onStoreError: "open" }],
    ["SameSite=None without Secure", { cookie: { secure: false, sameSite: "none" } }],
    [
      "__Host- name with a Domain",
      { cookie: { domain: "example.com", names: { session: "__Host-s" } } },
    ],
    ["short HS256 key", { keys: { keys: [{ kty: "oct", kid: "k", alg: "HS256", k: "c2hvcnQ" }] } }],
    ["missing store", { store: undefined }],
  ];
  for (const [name, patch] of bad) {
    it(`throws CONFIG_INVALID for ${name}`, () => {
      let error: unknown;
      try {
        createSessionManager({ strategy: "id", store, cleanup: false, ...patch } as never);
      } catch (e) {
        error = e;
      }
      expect(isSessionError(error, "CONFIG_INVALID")).toBe(true);
    });
  }

  it("falls back to __Secure- names when a Domain is set, and plain names when not Secure", () => {
    const withDomain = createSessionManager({
      strategy: "id",
      store,
      cleanup: false,
      cookie: { domain: "app.example" },
    });
    expect(withDomain.cookieNames.session).toBe("__Secure-sid");
    const insecure = createSessionManager({
      strategy: "id",
      store,
      cleanup: false,
      cookie: { secure: false },
    });
    expect(insecure.cookieNames.session).toBe("sid");
  });
});
