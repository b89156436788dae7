// Adversarial review of proof-of-possession binding (DPoP, RFC 9449, and DBSC), against the
// promises of docs/device-bound.md: a copied token or cookie must be worthless, a binding is
// made once and never dropped, proofs and challenges are single use.
//
// The tests marked FLAW were proven vulnerabilities (F1-F8) when this file was written: each
// failed then, and passes since its fix. The others are attacks that were refused all along.
import { createHash, randomUUID } from "node:crypto";
import * as jose from "jose";
import { createClient } from "redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createSessionManager,
  generateKeySet,
  type SessionManagerOptions,
} from "../../src/index.js";
import type { ReplayCache } from "../../src/pop/replay.js";
import { memoryStore } from "../../src/stores/memory/index.js";
import { postgresStore } from "../../src/stores/postgres/index.js";
import { redisStore } from "../../src/stores/redis/index.js";
import { sqliteStore } from "../../src/stores/sqlite/index.js";
import type { SessionStore } from "../../src/stores/types.js";
import { APP_ORIGIN, APP_PASSWORD, appClient, referenceApp } from "../helpers/app.js";
import {
  deleteRedisKeys,
  dropPostgresTables,
  POSTGRES_URL,
  REDIS_URL,
} from "../helpers/backends.js";
import {
  type Browser,
  browserKey,
  cookieOf,
  dbscProof,
  registrationChallenge,
} from "../helpers/dbsc-browser.js";
import { type ClientKey, clientKey } from "../pop/keys.js";

const API = "https://api.example";
const APP = "https://app.example";
const MINUTE = 60_000;

// ---------------------------------------------------------------------------------------------
// DPoP helpers (a client as jose makes it)

const ath = (token: string) => createHash("sha256").update(token).digest("base64url");

function dpopProof(
  key: ClientKey,
  method: string,
  url: string,
  extra: Record<string, unknown> = {},
  iat = Math.floor(Date.now() / 1000),
): Promise<string> {
  return new jose.SignJWT({ jti: randomUUID(), htm: method, htu: url, iat, ...extra })
    .setProtectedHeader({ alg: key.alg, typ: "dpop+jwt", jwk: key.publicJwk })
    .sign(key.privateKey);
}

function dpopManager(
  strategy: "id" | "jwt" | "hybrid",
  dpop: SessionManagerOptions["dpop"] = {},
  store: SessionStore = memoryStore(),
) {
  return createSessionManager({
    strategy,
    store,
    cleanup: false,
    dpop,
    csrf: { origins: [API] },
    ...(strategy === "id" ? {} : { keys: generateKeySet("ES256"), issuer: API, audience: "api" }),
  });
}
type DpopManager = ReturnType<typeof dpopManager>;

async function boundSignIn(manager: DpopManager, key: ClientKey, userId = "alice") {
  return manager.create({
    userId,
    transport: "header",
    request: new Request(`${API}/login`, {
      method: "POST",
      headers: { dpop: await dpopProof(key, "POST", `${API}/login`) },
    }),
  });
}

async function meWithProof(manager: DpopManager, token: string, key: ClientKey) {
  return manager.authenticate(
    new Request(`${API}/me`, {
      headers: {
        authorization: `DPoP ${token}`,
        dpop: await dpopProof(key, "GET", `${API}/me`, { ath: ath(token) }),
      },
    }),
  );
}

// ---------------------------------------------------------------------------------------------
// DBSC helpers (the browser's side played by jose)

const post = (path: string, headers: Record<string, string>) =>
  new Request(APP + path, { method: "POST", headers: { origin: APP, ...headers } });
const get = (cookie: string) => new Request(`${APP}/me`, { headers: { cookie } });

// DBSC keeps no replay cache: challenges are bound to one session and one stage, a
// registration binds once, a refresh challenge counts only if issued after the last renewal.
function dbscSetup(store: SessionStore = memoryStore(), start = Date.UTC(2026, 10, 27, 12)) {
  let now = start;
  const manager = createSessionManager({
    strategy: "id",
    store,
    cleanup: false,
    clock: () => now,
    lifetimes: { grace: "5s" },
    csrf: { origins: [APP] },
    deviceBound: {
      registrationPath: "/dbsc/register",
      refreshPath: "/dbsc/refresh",
      refreshInterval: "1m",
    },
  });
  return { manager, advance: (ms: number) => (now += ms) };
}
type DbscManager = ReturnType<typeof dbscSetup>["manager"];

async function register(manager: DbscManager, cookie: string, key: Browser, challenge: string) {
  return manager.registerDevice(
    post("/dbsc/register", {
      cookie,
      "secure-session-response": await dbscProof(key, challenge, true),
    }),
  );
}

/** The browser's refresh: ask, get a 403 challenge, sign it. */
async function refreshDevice(manager: DbscManager, sessionId: string, key: Browser) {
  const asked = await manager.refreshDevice(
    post("/dbsc/refresh", { "sec-secure-session-id": sessionId }),
  );
  const challenge = /^"([^"]+)"/.exec(asked.headers.get("secure-session-challenge") ?? "")?.[1];
  return manager.refreshDevice(
    post("/dbsc/refresh", {
      "sec-secure-session-id": sessionId,
      "secure-session-response": await dbscProof(key, challenge ?? "", false),
    }),
  );
}

// =============================================================================================
// F1 (high). DBSC registration is not tied to the sign-in that offered it: any challenge the
// server ever issued (here: one from the thief's own sign-in) registers any unbound session
// whose cookie (or id token) the thief holds, at any time in its life. The thief's key then
// owns the session for good: the victim's cookie dies with the grace, and only the thief can
// renew. docs/device-bound.md says this window is "the milliseconds after sign-in, not the
// session's life"; for every browser without DBSC (and every header client) it is the whole
// session's life, and a stolen copy becomes *more* valuable with DBSC on, not worthless.
// Cause: device-bound.ts `accepted()` takes any unexpired challenge of the server's
// (`nonces.check(jti)`), bound to no session; `register()` only asks that the session be
// unbound and the cookie current.
// =============================================================================================

interface StoreCase {
  name: string;
  make: () => SessionStore;
  cleanup?: () => Promise<void>;
}
const prefix = `atk${process.pid}x${Date.now() % 100000}`;
const STORES: StoreCase[] = [
  { name: "memory", make: () => memoryStore() },
  { name: "sqlite", make: () => sqliteStore({ path: ":memory:" }) },
  {
    name: "postgres",
    make: () => postgresStore({ connectionString: POSTGRES_URL, tablePrefix: `${prefix}_` }),
    cleanup: () => dropPostgresTables(`${prefix}_`),
  },
  {
    name: "redis",
    make: () => redisStore({ url: REDIS_URL, prefix: `${prefix}:` }),
    cleanup: () => deleteRedisKeys(`${prefix}:`),
  },
];

describe.each(STORES)("F1 DBSC registration hijack ($name store)", ({ make, cleanup }) => {
  const stores: SessionStore[] = [];
  const fresh = () => {
    const store = make();
    stores.push(store);
    return store;
  };
  afterAll(async () => {
    for (const store of stores) await store.close();
    await cleanup?.();
  });

  // FLAW F1: a cookie stolen long after sign-in registers with the thief's key.
  it("refuses to register a cookie copied 90 minutes after sign-in, with a challenge from the thief's own sign-in", async () => {
    // Real time as the base: the Redis store expires keys on the wall clock.
    const { manager, advance } = dbscSetup(fresh(), Date.now());
    // Alice's browser has no DBSC: it ignores the registration header, as the docs allow.
    const alice = await manager.create({ userId: "alice", transport: "cookie" });
    let aliceCookie = cookieOf(alice.headers);
    for (let i = 0; i < 6; i++) {
      advance(15 * MINUTE); // active every 15 minutes; renewed after an hour
      const seen = await manager.authenticate(get(aliceCookie));
      expect(seen.session?.userId).toBe("alice");
      if (seen.headers.getSetCookie().length > 0) aliceCookie = cookieOf(seen.headers);
    }
    // 90 minutes in, malware copies Alice's cookie. The thief signs in to an account of its
    // own to get a registration challenge, and registers Alice's session with its own key.
    const mallory = await manager.create({ userId: "mallory", transport: "cookie" });
    const challenge = registrationChallenge(mallory.headers);
    const thiefKey = await browserKey();
    const hijack = await register(manager, aliceCookie, thiefKey, challenge);

    // What should happen: the registration is refused, and Alice's session is left alone.
    expect(hijack.status).not.toBe(200);
    advance(6000);
    expect((await manager.authenticate(get(aliceCookie))).session?.userId).toBe("alice");
  });

  // FLAW F1 (header variant): an unbound header-transport id token (a Bearer client without
  // DPoP, read out of localStorage) is turned into a DBSC cookie bound to the thief's key; the
  // owner's client is then refused (device_unproven) and the thief renews at will.
  it("refuses to register a header-transport token as a DBSC cookie", async () => {
    const { manager, advance } = dbscSetup(fresh(), Date.now());
    const api = await manager.create({ userId: "alice", transport: "header" });
    const challenge = registrationChallenge(
      (await manager.create({ userId: "mallory", transport: "cookie" })).headers,
    );
    const thiefKey = await browserKey();
    const hijack = await register(
      manager,
      `${manager.cookieNames.session}=${api.token}`,
      thiefKey,
      challenge,
    );
    expect(hijack.status).not.toBe(200);
    advance(6000);
    const owner = await manager.authenticate(
      new Request(`${APP}/me`, { headers: { authorization: `Bearer ${api.token}` } }),
    );
    expect(owner.session?.userId).toBe("alice");
  });
});

// =============================================================================================
// F2 (low-medium, availability). A DPoP-bound hybrid session is ended by its refresh token
// alone, without a proof from its key. logout() and create() find "the session the request proves it holds"
// through presented(), which for hybrid accepts a bare refresh token in the refresh cookie
// and never applies the DPoP verdict (manager.ts, presented()). The CSRF check does not stop
// a non-browser (it sends Origin or Sec-Fetch-Site itself). The code's own rule, stated in
// jwt-session.ts lapsed() and manager.ts presented(): "a copy must not be able to sign its
// owner out either".
// =============================================================================================

describe("F2 DPoP-bound hybrid session ended with a stolen refresh token", () => {
  async function victim() {
    const manager = dpopManager("hybrid");
    const key = await clientKey("ES256");
    const issued = await boundSignIn(manager, key);
    expect(issued.session.deviceBound).toBe(true);
    const refreshWithKey = async (refreshToken: string) =>
      manager.refresh(
        new Request(`${API}/refresh`, {
          method: "POST",
          headers: { dpop: await dpopProof(key, "POST", `${API}/refresh`) },
        }),
        { refreshToken },
      );
    return { manager, issued, refreshWithKey };
  }

  // FLAW F2: logout() accepts the refresh token in a cookie without a DPoP proof.
  it("does not let the refresh token alone sign the owner out", async () => {
    const { manager, issued, refreshWithKey } = await victim();
    const thief = await manager.logout(
      new Request(`${API}/logout`, {
        method: "POST",
        headers: {
          cookie: `${manager.cookieNames.refresh}=${issued.refreshToken}`,
          "sec-fetch-site": "same-origin",
        },
      }),
    );
    expect(thief.revoked).toBe(false);
    expect((await refreshWithKey(issued.refreshToken ?? "")).session?.userId).toBe("alice");
  });

  // FLAW F2 (sign-in variant): the thief signs in to its own account carrying the stolen
  // refresh token in the cookie; create() ends "the session the request carried": Alice's.
  it("does not let a sign-in carrying the refresh token end the owner's session", async () => {
    const { manager, issued, refreshWithKey } = await victim();
    expect(await manager.get(issued.session.id)).not.toBeNull();
    await manager.create({
      userId: "mallory",
      transport: "header",
      request: new Request(`${API}/login`, {
        method: "POST",
        headers: { cookie: `${manager.cookieNames.refresh}=${issued.refreshToken}` },
      }),
    });
    expect((await refreshWithKey(issued.refreshToken ?? "")).session?.userId).toBe("alice");
  });

  // FLAW F2 (reuse variant): once the client has rotated, the thief's stale copy is "reuse"
  // and revokes the session (refresh.ts checks reuse before the binding). For a bound session
  // the copy could never have been used, so this only hands the copy-holder a kill switch.
  it("does not let a stale copy of a bound refresh token revoke the session", async () => {
    let offset = 0;
    const manager = createSessionManager({
      strategy: "hybrid",
      store: memoryStore(),
      cleanup: false,
      clock: () => Date.now() + offset,
      lifetimes: { grace: "2s" },
      dpop: {},
      keys: generateKeySet("ES256"),
      issuer: API,
      audience: "api",
    });
    const key = await clientKey("ES256");
    const issued = await boundSignIn(manager, key);
    const refreshWithKey = async (refreshToken: string) =>
      manager.refresh(
        new Request(`${API}/refresh`, {
          method: "POST",
          headers: { dpop: await dpopProof(key, "POST", `${API}/refresh`) },
        }),
        { refreshToken },
      );
    const copy = issued.refreshToken ?? "";
    const rotated = await refreshWithKey(copy);
    expect(rotated.refreshToken).toBeTruthy();
    offset = 5_000; // past the grace; proofs are still well within their 60 s
    await manager.refresh(new Request(`${API}/refresh`, { method: "POST" }), {
      refreshToken: copy,
    });
    expect((await refreshWithKey(rotated.refreshToken ?? "")).session?.userId).toBe("alice");
  });

  // Regression: the refresh itself is refused without the key, in the body or in a cookie.
  it("refuses to rotate the stolen refresh token without a proof from its key", async () => {
    const { manager, issued, refreshWithKey } = await victim();
    const thiefKey = await clientKey("ES256");
    const fromBody = await manager.refresh(
      new Request(`${API}/refresh`, {
        method: "POST",
        headers: { dpop: await dpopProof(thiefKey, "POST", `${API}/refresh`) },
      }),
      { refreshToken: issued.refreshToken ?? "" },
    );
    expect(fromBody.session).toBeNull();
    const fromCookie = await manager.refresh(
      new Request(`${API}/refresh`, {
        method: "POST",
        headers: {
          cookie: `${manager.cookieNames.refresh}=${issued.refreshToken}`,
          origin: API,
        },
      }),
    );
    expect(fromCookie.session).toBeNull();
    expect((await refreshWithKey(issued.refreshToken ?? "")).session?.userId).toBe("alice");
  });
});

// =============================================================================================
// F3 (medium). One client fills the shared replay cache and locks everyone else out. The
// memory replay cache refuses new entries while it is full of live ones (replay.ts), shared by
// every key: a client with a session of its own (any registered user) that sends `max` valid
// proofs within maxAge (default 100 000 in 60 s, ~1 700 requests/s) makes every other client's
// fresh proof "replayed" (401) until its entries expire. The DBSC challenge cache is the same:
// filled through refreshes of the attacker's own bound session, it makes every new browser's
// registration fail (its session stays unbound: a downgrade) and every refresh end in 403s.
// =============================================================================================

describe("F3 replay cache exhaustion", () => {
  // Fixed: each key may record at most 1000 proofs per proof lifetime in the default cache,
  // so a flood refuses only its own key's proofs.
  it("refuses a flooding key's proofs past its share, and keeps accepting Alice's", async () => {
    const manager = dpopManager("jwt");
    const alice = await clientKey("ES256");
    const mallory = await clientKey("ES256");
    const a = await boundSignIn(manager, alice, "alice");
    const m = await boundSignIn(manager, mallory, "mallory");
    let accepted = 0;
    for (let i = 0; i < 1010; i++) {
      if ((await meWithProof(manager, m.token, mallory)).session) accepted++;
    }
    expect(accepted).toBeLessThan(1000);
    expect(accepted).toBeGreaterThan(990);
    const result = await meWithProof(manager, a.token, alice);
    expect(result.failure?.reason).toBeUndefined();
    expect(result.session?.userId).toBe("alice");
  });

  // Was F3 (DBSC): refreshes of the attacker's own bound session filled a shared challenge
  // cache and Alice's browser could not register. There is no such cache any more.
  it("lets a new browser register after another bound session refreshed many times", async () => {
    const { manager } = dbscSetup(memoryStore());
    const malloryKey = await browserKey();
    const m = await manager.create({ userId: "mallory", transport: "cookie" });
    const reg = await register(
      manager,
      cookieOf(m.headers),
      malloryKey,
      registrationChallenge(m.headers),
    );
    expect(reg.status).toBe(200);
    for (let i = 0; i < 8; i++) await refreshDevice(manager, m.session.id, malloryKey);

    const aliceKey = await browserKey();
    const a = await manager.create({ userId: "alice", transport: "cookie" });
    const answer = await register(
      manager,
      cookieOf(a.headers),
      aliceKey,
      registrationChallenge(a.headers),
    );
    expect(answer.status).toBe(200);
    expect((await manager.authenticate(get(cookieOf(answer.headers)))).session?.deviceBound).toBe(
      true,
    );
  });
});

// =============================================================================================
// F4 (low-medium, fails open). A replay cache that answers asynchronously (any shared one:
// Redis, a database, which the docs suggest for cross-instance refusal) turns DPoP replay protection off without
// a word: verifyDpopProof tests `!replay.firstUse(...)`, and a Promise is truthy. The same
// cache works for DBSC, which awaits it, and options.ts accepts it for both.
// =============================================================================================

describe("F4 asynchronous (Redis) replay cache", () => {
  const keyPrefix = `${prefix}:replay:`;
  const redis = createClient({ url: REDIS_URL });
  beforeAll(async () => {
    await redis.connect();
  });
  afterAll(async () => {
    await redis.quit();
    await deleteRedisKeys(keyPrefix);
  });
  /** The shared cache an operator would write: SET NX with the entry's expiry. */
  const redisReplay = () =>
    ({
      firstUse: async (key: string, expiresAt: number, now: number) =>
        expiresAt < now ||
        (await redis.set(`${keyPrefix}${key}`, "1", { NX: true, PXAT: expiresAt })) === "OK",
    }) as unknown as ReplayCache;

  // Fixed: the replay check runs on the synchronous path; a cache answering a promise (always
  // truthy) was taken for "first use" every time. Such a cache is now refused at construction.
  it("refuses an asynchronous (Redis-backed) replay cache when the manager is built", () => {
    expect(() => dpopManager("jwt", { replay: redisReplay() })).toThrow(/synchronously/);
  });

  // Regression: a registration proof captured from one session and replayed on another is
  // refused (its challenge is bound to the first session).
  it("refuses a registration proof replayed on another session", async () => {
    const { manager } = dbscSetup(memoryStore(), Date.now());
    const key = await browserKey();
    const a = await manager.create({ userId: "alice", transport: "cookie" });
    const proof = await dbscProof(key, registrationChallenge(a.headers), true);
    const first = await manager.registerDevice(
      post("/dbsc/register", { cookie: cookieOf(a.headers), "secure-session-response": proof }),
    );
    expect(first.status).toBe(200);
    const b = await manager.create({ userId: "bob", transport: "cookie" });
    const again = await manager.registerDevice(
      post("/dbsc/register", { cookie: cookieOf(b.headers), "secure-session-response": proof }),
    );
    expect(again.status).toBe(400);
  });
});

// =============================================================================================
// F5 (low). A copied DBSC cookie past its refresh interval is refused for everything
// (device_unproven), yet still signs its owner out: logout() (and create(), which ends the
// session a sign-in carries) go through presented(), which checks the secret but not the
// device rule. While the owner's browser is away (closed laptop: no refresh rotates the
// secret), the lapsed copy keeps that power until the session's idle expiry.
// =============================================================================================

describe("F5 lapsed DBSC cookie", () => {
  // FLAW F5
  it("does not let a lapsed device-bound cookie sign the owner out", async () => {
    const { manager, advance } = dbscSetup();
    const key = await browserKey();
    const issued = await manager.create({ userId: "alice", transport: "cookie" });
    const answer = await register(
      manager,
      cookieOf(issued.headers),
      key,
      registrationChallenge(issued.headers),
    );
    const copy = cookieOf(answer.headers);
    advance(MINUTE + 10_000);
    expect((await manager.authenticate(get(copy))).failure?.reason).toBe("device_unproven");
    const out = await manager.logout(post("/logout", { cookie: copy }));
    expect(out.revoked).toBe(false);
    expect((await refreshDevice(manager, issued.session.id, key)).status).toBe(200);
  });
});

// =============================================================================================
// F6 (low). A client that signs in again with its DPoP-bound token keeps the old session
// alive. create() verifies the sign-in proof first (provenKey: its jti is spent), then
// presented() verifies the same proof again for the token the request carries, finds it
// "replayed", and so ends nothing: README's "sign-in always creates a new session and ends
// the one the request carried" does not hold for DPoP clients (sessions pile up, each usable
// by the key holder, until the cap evicts them).
// =============================================================================================

describe("F6 DPoP re-sign-in", () => {
  // FLAW F6
  it.each(["id", "jwt"] as const)(
    "%s: ends the bound session a DPoP sign-in carries",
    async (strategy) => {
      const manager = dpopManager(strategy);
      const key = await clientKey("ES256");
      const first = await boundSignIn(manager, key);
      await manager.create({
        userId: "alice",
        transport: "header",
        request: new Request(`${API}/login`, {
          method: "POST",
          headers: {
            authorization: `DPoP ${first.token}`,
            dpop: await dpopProof(key, "POST", `${API}/login`, { ath: ath(first.token) }),
          },
        }),
      });
      expect(await manager.get(first.session.id)).toBeNull();
    },
  );
});

// =============================================================================================
// F7 (low). The reference server's hybrid refresh says `tokenType: "Bearer"` for a DPoP-bound
// session (app.ts), where the sign-in said "DPoP" (RFC 9449 §5: the token type of a bound
// access token is DPoP). A generic client that follows token_type then sends the new access
// token as Bearer and is refused.
// =============================================================================================

describe("F7 reference server refresh token type", () => {
  const { app } = referenceApp();
  // FLAW F7
  it("answers a DPoP-bound hybrid refresh with tokenType DPoP", async () => {
    const c = appClient(app);
    const username = `atk${Date.now() % 100000}`;
    expect(
      (await c.request("POST", "/api/users", { username, password: APP_PASSWORD })).status,
    ).toBe(201);
    const key = await clientKey("ES256");
    const login = await appClient(app).request(
      "POST",
      "/api/hybrid/login",
      { username, password: APP_PASSWORD, transport: "header" },
      { dpop: await dpopProof(key, "POST", `${APP_ORIGIN}/api/hybrid/login`) },
    );
    const issued = (await login.json()) as { refreshToken: string; tokenType: string };
    expect(issued.tokenType).toBe("DPoP");
    // As a client sends it over HTTP: the route reads the body only with a length.
    const body = JSON.stringify({ refreshToken: issued.refreshToken });
    const refreshed = await appClient(app).request("POST", "/api/hybrid/refresh", body, {
      dpop: await dpopProof(key, "POST", `${APP_ORIGIN}/api/hybrid/refresh`),
      "content-length": String(Buffer.byteLength(body)),
    });
    expect(refreshed.status).toBe(200);
    expect(((await refreshed.json()) as { tokenType: string }).tokenType).toBe("DPoP");
  });
});

// =============================================================================================
// Regressions: attacks refused today.
// =============================================================================================

describe("regression: DPoP and DBSC bindings are not interchangeable", () => {
  it("refuses a DBSC proof as DPoP, a DPoP proof as DBSC, and DBSC registration of a DPoP-bound session", async () => {
    const manager = createSessionManager({
      strategy: "id",
      store: memoryStore(),
      cleanup: false,
      csrf: { origins: [API] },
      dpop: {},
      deviceBound: { registrationPath: "/dbsc/register", refreshPath: "/dbsc/refresh" },
    });
    const key = await clientKey("ES256");
    const bound = await boundSignIn(manager as unknown as DpopManager, key);
    expect(bound.session.deviceBound).toBe(true);
    const cookie = `${manager.cookieNames.session}=${bound.token}`;

    // The DPoP-bound header token, moved into the cookie: refused for requests...
    const asCookie = await manager.authenticate(new Request(`${API}/me`, { headers: { cookie } }));
    expect(asCookie.session).toBeNull();
    // ...and for DBSC registration with a key of the thief's, whatever the challenge.
    const challenge = registrationChallenge(
      (await manager.create({ userId: "mallory", transport: "cookie" })).headers,
    );
    const thief = await browserKey();
    const registered = await manager.registerDevice(
      new Request(`${API}/dbsc/register`, {
        method: "POST",
        headers: { cookie, "secure-session-response": await dbscProof(thief, challenge, true) },
      }),
    );
    expect(registered.status).toBe(400);

    // A dbsc+jwt signed by the right key is no DPoP proof.
    const dbscAsDpop = await new jose.SignJWT({
      jti: randomUUID(),
      htm: "GET",
      htu: `${API}/me`,
      iat: Math.floor(Date.now() / 1000),
      ath: ath(bound.token),
    })
      .setProtectedHeader({ alg: "ES256", typ: "dbsc+jwt", jwk: key.publicJwk })
      .sign(key.privateKey);
    const confused = await manager.authenticate(
      new Request(`${API}/me`, {
        headers: { authorization: `DPoP ${bound.token}`, dpop: dbscAsDpop },
      }),
    );
    expect(confused.failure?.reason).toBe("dpop_invalid");

    // A dpop+jwt carrying a real DBSC challenge is no registration proof.
    const unbound = await manager.create({ userId: "bob", transport: "cookie" });
    const dpopAsDbsc = await new jose.SignJWT({ jti: registrationChallenge(unbound.headers) })
      .setProtectedHeader({ alg: "ES256", typ: "dpop+jwt", jwk: key.publicJwk })
      .sign(key.privateKey);
    const wrongTyp = await manager.registerDevice(
      new Request(`${API}/dbsc/register`, {
        method: "POST",
        headers: { cookie: cookieOf(unbound.headers), "secure-session-response": dpopAsDbsc },
      }),
    );
    expect(wrongTyp.status).toBe(400);
    manager.close();
  });
});

describe("regression: crafted binding headers at the reference server never answer 5xx", () => {
  const { app, logged } = referenceApp();

  it("answers 4xx to duplicate, oversized, malformed and non-ASCII DPoP and DBSC headers", async () => {
    const c = appClient(app);
    const username = `crf${Date.now() % 100000}`;
    await c.request("POST", "/api/users", { username, password: APP_PASSWORD });
    const login = await c.request("POST", "/api/id/login", { username, password: APP_PASSWORD });
    expect(login.status).toBe(200);
    const sid = (c.jar.get("__Host-sid") ?? "").split(".")[0] ?? "";
    const key = await clientKey("ES256");
    const good = await dpopProof(key, "GET", `${APP_ORIGIN}/api/jwt/me`);
    const junk = [
      `${good}, ${good}`,
      "x".repeat(9000),
      "a.b.c",
      `${good.slice(0, -4)}AAAA`,
      `"${good}"`,
      `${good}.${good}`,
      "é.é.é",
      '"\\u0000"',
      `eyJhbGciOiJSUzI1NiIsInR5cCI6ImRwb3Arand0IiwiandrIjp7fX0.${"A".repeat(40)}.AA`,
    ];
    const statuses: number[] = [];
    for (const value of junk) {
      const latin1 = Buffer.from(value, "utf8").toString("latin1");
      for (const [path, headers] of [
        ["/api/id/dbsc/register", { "secure-session-response": latin1 }],
        [
          "/api/id/dbsc/refresh",
          { "sec-secure-session-id": sid, "secure-session-response": latin1 },
        ],
        ["/api/id/dbsc/refresh", { "sec-secure-session-id": latin1 }],
        ["/api/jwt/login", { dpop: latin1 }],
        ["/api/hybrid/refresh", { dpop: latin1, "secure-session-response": latin1 }],
      ] as const) {
        const body = path.endsWith("login")
          ? { username, password: APP_PASSWORD, transport: "header" }
          : undefined;
        statuses.push((await c.request("POST", path, body, { ...headers })).status);
      }
      statuses.push(
        (
          await appClient(app).request("GET", "/api/id/me", undefined, {
            authorization: `DPoP ${latin1}`,
            dpop: latin1,
          })
        ).status,
      );
    }
    expect(statuses.filter((s) => s >= 500)).toEqual([]);
    expect(logged.filter((line) => /error/i.test(line))).toEqual([]);
  });
});

// =============================================================================================
// F8 (low, fails closed). The Express adapter builds the DPoP target URI from `req.url`,
// which Express rewrites relative to a router's mount point: under `app.use("/api", router)`
// a sign-in at /api/login is seen as /login, so every proof a client signs for the URL it
// called is refused (DPOP_REFUSED, 401). DPoP does not work "through every adapter" for the
// common Express layout; `req.originalUrl` is the request's own target.
// =============================================================================================

describe("F8 Express routers and htu", () => {
  // FLAW F8
  it("binds a DPoP sign-in made through a router mounted at /api", async () => {
    const { default: express } = await import("express");
    const { sessionErrors, sessionkit, signIn } = await import("../../src/adapters/express.js");
    const { createServer } = await import("node:http");
    const manager = createSessionManager({
      strategy: "id",
      store: memoryStore(),
      cleanup: false,
      dpop: {},
      csrf: { origins: [] },
    });
    const router = express.Router();
    router.post("/login", async (req, res, next) => {
      try {
        const session = await signIn(req, res, { userId: "alice", transport: "header" });
        res.json({ deviceBound: session.deviceBound });
      } catch (error) {
        next(error);
      }
    });
    const app = express();
    app.use(sessionkit(manager));
    app.use("/api", router);
    app.use(sessionErrors());
    const server = createServer(app);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const { port } = server.address() as { port: number };
      const url = `http://127.0.0.1:${port}/api/login`;
      const key = await clientKey("ES256");
      const response = await fetch(url, {
        method: "POST",
        headers: { dpop: await dpopProof(key, "POST", url), "sec-fetch-site": "same-origin" },
      });
      expect(response.status).toBe(200);
      expect(((await response.json()) as { deviceBound: boolean }).deviceBound).toBe(true);
    } finally {
      await new Promise((resolve) => server.close(resolve));
      manager.close();
    }
  });
});
