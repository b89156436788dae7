// Second adversarial pass on the DPoP/DBSC binding, after the fixes of 68df2e3 (F1-F8 in
// test/core/attack-binding.test.ts): session-bound DBSC challenges and the renewedAt rule, the
// per-key DPoP replay quota, presented()/presentedVerdict and the provenJkt shortcut, the
// hybrid reuse path with bound tokens.
//
// Tests marked FLAW are proven vulnerabilities: they fail today and are `it.fails` so the
// suite stays green; each turns into an unexpected pass (and must become `it`) once fixed.
// The others are attacks tried against the fixes and refused.
import { createHash, randomUUID } from "node:crypto";
import * as jose from "jose";
import { describe, expect, it } from "vitest";
import {
  createSessionManager,
  generateKeySet,
  type SessionManagerOptions,
} from "../../src/index.js";
import { memoryReplayCache, perKeyReplayCache } from "../../src/pop/replay.js";
import { memoryStore } from "../../src/stores/memory/index.js";
import type { SessionStore } from "../../src/stores/types.js";
import {
  type Browser,
  browserKey,
  cookieOf,
  dbscProof,
  refreshChallenge,
  registrationChallenge,
} from "../helpers/dbsc-browser.js";
import { type ClientKey, clientKey } from "../pop/keys.js";

const API = "https://api.example";
const APP = "https://app.example";
const MINUTE = 60_000;
const T0 = Date.UTC(2026, 10, 27, 12);

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
  options: { dpop?: SessionManagerOptions["dpop"]; clock?: () => number; grace?: "2s" } = {},
) {
  return createSessionManager({
    strategy,
    store: memoryStore(),
    cleanup: false,
    dpop: options.dpop ?? {},
    csrf: { origins: [API] },
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.grace ? { lifetimes: { grace: options.grace } } : {}),
    ...(strategy === "id" ? {} : { keys: generateKeySet("ES256"), issuer: API, audience: "api" }),
  });
}
type DpopManager = ReturnType<typeof dpopManager>;

async function boundSignIn(manager: DpopManager, key: ClientKey, userId = "alice", iat?: number) {
  return manager.create({
    userId,
    transport: "header",
    request: new Request(`${API}/login`, {
      method: "POST",
      headers: { dpop: await dpopProof(key, "POST", `${API}/login`, {}, iat) },
    }),
  });
}

async function meWithProof(manager: DpopManager, token: string, key: ClientKey, iat?: number) {
  return manager.authenticate(
    new Request(`${API}/me`, {
      headers: {
        authorization: `DPoP ${token}`,
        dpop: await dpopProof(key, "GET", `${API}/me`, { ath: ath(token) }, iat),
      },
    }),
  );
}

// ---------------------------------------------------------------------------------------------
// DBSC helpers (the browser's side played by jose)

const post = (path: string, headers: Record<string, string>) =>
  new Request(APP + path, { method: "POST", headers: { origin: APP, ...headers } });
const get = (cookie: string) => new Request(`${APP}/me`, { headers: { cookie } });

/** A DBSC `id` manager on a clock of its own; several may share a store and keys. */
function dbscInstance(store: SessionStore, keys: ReturnType<typeof generateKeySet>) {
  let now = T0;
  const manager = createSessionManager({
    strategy: "id",
    store,
    keys,
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
  return { manager, set: (ms: number) => (now = ms) };
}
type DbscManager = ReturnType<typeof dbscInstance>["manager"];

async function register(manager: DbscManager, cookie: string, key: Browser, challenge: string) {
  return manager.registerDevice(
    post("/dbsc/register", {
      cookie,
      "secure-session-response": await dbscProof(key, challenge, true),
    }),
  );
}

const askChallenge = async (manager: DbscManager, sessionId: string) =>
  refreshChallenge(
    (await manager.refreshDevice(post("/dbsc/refresh", { "sec-secure-session-id": sessionId })))
      .headers,
  );
const answer = (manager: DbscManager, sessionId: string, proof: string) =>
  manager.refreshDevice(
    post("/dbsc/refresh", { "sec-secure-session-id": sessionId, "secure-session-response": proof }),
  );

// =============================================================================================
// G1 (medium, availability). The per-key replay quota (F3's fix) is keyed by the proof's own
// key, which the attacker chooses and makes for free. perKeyReplayCache caps each thumbprint
// at 1000 entries per maxAge, but the inner memory cache behind it is still one bounded pool of
// 100 000 for everyone: an attacker with ~100 DPoP-bound sessions of its own (100 sign-ins
// with 100 keys: one account, or a few, since maxSessionsPerUser is 20) sends 1000 valid
// proofs per key within maxAge and the pool is full; every other client's fresh proof is then
// "replayed" (401) until the flood's entries expire. The docs' "one client's flood locks out
// only its own key" holds only for a client with one key. (At the window boundary a key can
// even hold ~2000 live entries: the quota window restarts while its previous entries, kept
// until iat + maxAge with iat up to 5 s ahead, still live; so 50 keys suffice.)
// =============================================================================================

describe("G1 DPoP replay cache exhausted by one client with many keys", () => {
  // FLAW G1
  it.fails("keeps accepting Alice's proofs after a client with 100 keys floods within its per-key share", async () => {
    const now = T0;
    const iat = Math.floor(now / 1000);
    const manager = dpopManager("id", { clock: () => now });
    const alice = await clientKey("EdDSA");
    const a = await boundSignIn(manager, alice, "alice", iat);
    expect(a.session.deviceBound).toBe(true);

    // Mallory: 100 keys, each bound to a session of its own (6 accounts, under the cap).
    let refused = 0;
    for (let k = 0; k < 100; k++) {
      const key = await clientKey("EdDSA");
      const m = await boundSignIn(manager, key, `mallory${k % 6}`, iat);
      // 999 more proofs: with the sign-in's, exactly the key's 1000 (no more is taken).
      const proofs = await Promise.all(
        Array.from({ length: 999 }, () =>
          dpopProof(key, "GET", `${API}/me`, { ath: ath(m.token) }, iat),
        ),
      );
      for (const proof of proofs) {
        const seen = await manager.authenticate(
          new Request(`${API}/me`, {
            headers: { authorization: `DPoP ${m.token}`, dpop: proof },
          }),
        );
        if (!seen.session) refused++;
      }
    }
    // Every flood request was within its key's share: the quota refused (almost) nothing...
    expect(refused).toBeLessThan(10);
    // ...and Alice, who sent one proof, is locked out ("replayed", 401), as is every DPoP
    // sign-in (DPOP_REFUSED), until the flood's entries expire.
    const result = await meWithProof(manager, a.token, alice, iat);
    expect(result.failure?.reason).toBeUndefined();
    expect(result.session?.userId).toBe("alice");
    const bob = await boundSignIn(manager, await clientKey("EdDSA"), "bob", iat);
    expect(bob.session.deviceBound).toBe(true);
  }, 180_000);
  // FLAW G1 (the quota itself): fixed windows, restarted per key, let a key hold twice its
  // share of live entries: 1000 recorded at the end of one window are still live (until
  // iat + maxAge) when the next window takes 1000 more. options.ts says "at most 1% of the
  // default cache per proof lifetime"; it is 2%, so half as many keys fill the cache.
  it.fails("holds at most perKey live entries of one key at any time", () => {
    const inner = memoryReplayCache({ max: 1000 });
    const cache = perKeyReplayCache(inner, { perKey: 10, windowMs: MINUTE });
    const jkt = "k".repeat(43);
    let accepted = 0;
    // Opens the key's window at 0; its iat 5 s ahead (the allowed skew) keeps it to 65 s.
    cache.firstUse(`${jkt}:first`, 5_000 + MINUTE, 0);
    accepted++;
    for (let i = 0; i < 9; i++) {
      const now = MINUTE - 10 + i; // the window's last milliseconds
      if (cache.firstUse(`${jkt}:a${i}`, now + MINUTE, now)) accepted++;
    }
    for (let i = 0; i < 10; i++) {
      const now = MINUTE + i; // the next window: the entries above are all still live
      if (cache.firstUse(`${jkt}:b${i}`, now + MINUTE, now)) accepted++;
    }
    expect(accepted).toBe(20);
    expect(inner.size).toBeLessThanOrEqual(10);
  });
});

// =============================================================================================
// G2 (low-medium). A DBSC refresh proof renews more than once when instances' clocks differ.
// "Each [refresh challenge] renews once (the renewal moves renewedAt past it)" assumes the
// instance that renews has a clock at or past the one that issued the challenge. Challenges
// stamped up to 5 s ahead are accepted (nonce.ts FUTURE_SKEW_MS, "a nonce ... a peer just
// issued"), and the renewal writes renewedAt from the renewing instance's clock: a proof
// answering a challenge from an instance 3 s ahead, posted to one 3 s behind, leaves
// renewedAt *before* the challenge, so the same proof renews again, and again, until the
// slow clock passes the stamp. Whoever holds a copy of the proof (a log of request headers,
// a TLS-terminating proxy, malware that read it once) gets a fresh cookie of their own for a
// whole refresh interval without the key; each replay also rotates the owner's cookie away.
// The same skew moves renewedAt backwards, which revives challenges issued before the last
// renewal. DBSC dropped its replay cache in 68df2e3; this is the gap.
// =============================================================================================

describe("G2 DBSC refresh proof replayed across instances with skewed clocks", () => {
  // Was FLAW G2, fixed: renewedAt moves past the answered challenge and never back.
  it("renews once per proof even when the challenge came from a faster peer", async () => {
    const store = memoryStore();
    const keys = generateKeySet("ES256");
    const fast = dbscInstance(store, keys);
    const slow = dbscInstance(store, keys);
    const key = await browserKey();
    const issued = await fast.manager.create({ userId: "alice", transport: "cookie" });
    const registered = await register(
      fast.manager,
      cookieOf(issued.headers),
      key,
      registrationChallenge(issued.headers),
    );
    expect(registered.status).toBe(200);
    const sid = issued.session.id;

    // 50 s on, the browser refreshes: the challenge from the instance 3 s ahead, the proof to
    // the one 3 s behind (a load balancer picks them).
    fast.set(T0 + 50_000 + 3_000);
    slow.set(T0 + 50_000);
    const proof = await dbscProof(key, await askChallenge(fast.manager, sid), false);
    const owner = await answer(slow.manager, sid, proof);
    expect(owner.status).toBe(200);

    // A second later, the same proof, replayed by whoever copied it.
    slow.set(T0 + 51_000);
    const replay = await answer(slow.manager, sid, proof);
    const stolen = cookieOf(replay.headers);
    slow.set(T0 + 51_000 + 40_000);
    const used = await slow.manager.authenticate(get(stolen));
    // What should happen: the spent proof gets a challenge, and its answer no cookie.
    expect(replay.status).toBe(403);
    expect(used.session).toBeNull();
  });

  // Regression: on one instance (or clocks in step) the same proof renews once.
  it("refuses a spent refresh proof on the same instance", async () => {
    const store = memoryStore();
    const one = dbscInstance(store, generateKeySet("ES256"));
    const key = await browserKey();
    const issued = await one.manager.create({ userId: "alice", transport: "cookie" });
    const registered = await register(
      one.manager,
      cookieOf(issued.headers),
      key,
      registrationChallenge(issued.headers),
    );
    expect(registered.status).toBe(200);
    const sid = issued.session.id;
    one.set(T0 + 50_000);
    const proof = await dbscProof(key, await askChallenge(one.manager, sid), false);
    expect((await answer(one.manager, sid, proof)).status).toBe(200);
    one.set(T0 + 50_001);
    expect((await answer(one.manager, sid, proof)).status).toBe(403);
  });

  // Regression: the challenge the registration answer hands out is stamped past the renewal
  // (now + 1), and a refresh challenge of one session or a registration challenge never
  // refreshes another (or the same) session.
  it("refuses stage- and session-crossed challenges", async () => {
    const store = memoryStore();
    const one = dbscInstance(store, generateKeySet("ES256"));
    const key = await browserKey();
    const a = await one.manager.create({ userId: "alice", transport: "cookie" });
    const regA = await register(
      one.manager,
      cookieOf(a.headers),
      key,
      registrationChallenge(a.headers),
    );
    const m = await one.manager.create({ userId: "mallory", transport: "cookie" });
    const regM = await register(
      one.manager,
      cookieOf(m.headers),
      key,
      registrationChallenge(m.headers),
    );
    expect([regA.status, regM.status]).toEqual([200, 200]);
    one.set(T0 + 1_000);
    // Mallory's session's refresh challenge, signed (same key here: worst case), for Alice's.
    const crossed = await dbscProof(key, refreshChallenge(regM.headers), false);
    expect((await answer(one.manager, a.session.id, crossed)).status).toBe(403);
    // Alice's registration challenge as a refresh challenge.
    const staged = await dbscProof(key, registrationChallenge(a.headers), false);
    expect((await answer(one.manager, a.session.id, staged)).status).toBe(403);
    // The registration answer's own challenge refreshes once.
    const own = await dbscProof(key, refreshChallenge(regA.headers), false);
    expect((await answer(one.manager, a.session.id, own)).status).toBe(200);
    expect((await answer(one.manager, a.session.id, own)).status).toBe(403);
  });
});

// =============================================================================================
// Regressions around the fixes that held.
// =============================================================================================

describe("regression: provenJkt and bound tokens at sign-in and sign-out", () => {
  // The provenJkt shortcut only proves sessions bound to the key the sign-in proof showed: a
  // thief signing in with its own key, carrying Alice's bound token, ends nothing.
  it.each(["id", "jwt", "hybrid"] as const)(
    "%s: a sign-in with the thief's key carrying Alice's bound token leaves her session",
    async (strategy) => {
      const manager = dpopManager(strategy);
      const alice = await clientKey("ES256");
      const thief = await clientKey("ES256");
      const a = await boundSignIn(manager, alice);
      await manager.create({
        userId: "mallory",
        transport: "header",
        request: new Request(`${API}/login`, {
          method: "POST",
          headers: {
            authorization: `DPoP ${a.token}`,
            dpop: await dpopProof(thief, "POST", `${API}/login`, { ath: ath(a.token) }),
            ...(strategy === "hybrid"
              ? { cookie: `${manager.cookieNames.refresh}=${a.refreshToken}` }
              : {}),
          },
        }),
      });
      expect(await manager.get(a.session.id)).not.toBeNull();
      expect((await meWithProof(manager, a.token, alice)).session?.userId).toBe("alice");
    },
  );

  // Sign-out with Alice's bound token and a proof from another key, or Alice's own proof
  // replayed, proves nothing.
  it.each(["id", "jwt"] as const)(
    "%s: sign-out with a bound token needs a fresh proof from its key",
    async (strategy) => {
      const manager = dpopManager(strategy);
      const alice = await clientKey("ES256");
      const thief = await clientKey("ES256");
      const a = await boundSignIn(manager, alice);
      const logout = (dpop: string) =>
        manager.logout(
          new Request(`${API}/logout`, {
            method: "POST",
            headers: { authorization: `DPoP ${a.token}`, dpop },
          }),
        );
      const theirs = await dpopProof(thief, "POST", `${API}/logout`, { ath: ath(a.token) });
      expect((await logout(theirs)).revoked).toBe(false);
      const hers = await dpopProof(alice, "POST", `${API}/logout`, { ath: ath(a.token) });
      const seen = await manager.authenticate(
        new Request(`${API}/logout`, {
          method: "POST",
          headers: { authorization: `DPoP ${a.token}`, dpop: hers },
        }),
      );
      expect(seen.session?.userId).toBe("alice");
      expect((await logout(hers)).revoked).toBe(false); // replayed
      expect(await manager.get(a.session.id)).not.toBeNull();
    },
  );

  // Hybrid: a stale bound refresh token with a proof from another key revokes nothing.
  it("hybrid: a stale bound refresh token with the thief's proof revokes nothing", async () => {
    let offset = 0;
    const manager = dpopManager("hybrid", { clock: () => Date.now() + offset, grace: "2s" });
    const alice = await clientKey("ES256");
    const thief = await clientKey("ES256");
    const a = await boundSignIn(manager, alice);
    const refreshWith = async (key: ClientKey, refreshToken: string) =>
      manager.refresh(
        new Request(`${API}/refresh`, {
          method: "POST",
          headers: { dpop: await dpopProof(key, "POST", `${API}/refresh`) },
        }),
        { refreshToken },
      );
    const copy = a.refreshToken ?? "";
    const rotated = await refreshWith(alice, copy);
    expect(rotated.refreshToken).toBeTruthy();
    offset = 5_000;
    expect((await refreshWith(thief, copy)).session).toBeNull();
    expect((await refreshWith(alice, rotated.refreshToken ?? "")).session?.userId).toBe("alice");
  });

  // After sign-out, neither a DBSC refresh nor a DPoP-bound hybrid refresh brings it back.
  it("refuses a DBSC refresh after sign-out", async () => {
    const one = dbscInstance(memoryStore(), generateKeySet("ES256"));
    const key = await browserKey();
    const a = await one.manager.create({ userId: "alice", transport: "cookie" });
    const reg = await register(
      one.manager,
      cookieOf(a.headers),
      key,
      registrationChallenge(a.headers),
    );
    expect(reg.status).toBe(200);
    const proof = await dbscProof(key, refreshChallenge(reg.headers), false);
    one.set(T0 + 1_000);
    const out = await one.manager.logout(post("/logout", { cookie: cookieOf(reg.headers) }));
    expect(out.revoked).toBe(true);
    expect((await answer(one.manager, a.session.id, proof)).status).toBe(401);
  });

  it("refuses a DPoP-bound hybrid refresh after sign-out", async () => {
    const manager = dpopManager("hybrid");
    const alice = await clientKey("ES256");
    const a = await boundSignIn(manager, alice);
    const out = await manager.logout(
      new Request(`${API}/logout`, {
        method: "POST",
        headers: {
          authorization: `DPoP ${a.token}`,
          dpop: await dpopProof(alice, "POST", `${API}/logout`, { ath: ath(a.token) }),
        },
      }),
    );
    expect(out.revoked).toBe(true);
    const again = await manager.refresh(
      new Request(`${API}/refresh`, {
        method: "POST",
        headers: { dpop: await dpopProof(alice, "POST", `${API}/refresh`) },
      }),
      { refreshToken: a.refreshToken ?? "" },
    );
    expect(again.session).toBeNull();
  });

  // A lapsed DBSC cookie, at the registration window's edge and after, registers nothing.
  it("refuses a registration 5 minutes and 1 ms after sign-in, with the sign-in's challenge", async () => {
    const one = dbscInstance(memoryStore(), generateKeySet("ES256"));
    const a = await one.manager.create({ userId: "alice", transport: "cookie" });
    one.set(T0 + 5 * MINUTE + 1);
    const late = await register(
      one.manager,
      cookieOf(a.headers),
      await browserKey(),
      registrationChallenge(a.headers),
    );
    expect(late.status).toBe(400);
  });
});
