import { join } from "node:path";
import * as jose from "jose";
import { describe, expect, it } from "vitest";
import {
  createSessionManager,
  isSessionError,
  type SessionManagerOptions,
  type SessionStore,
} from "../../src/index.js";
import { memoryStore } from "../../src/stores/memory/index.js";
import { sqliteStore } from "../../src/stores/sqlite/index.js";
import { generateKeySet } from "../../src/tokens/index.js";
import { cookiesOf, manualClock, ORIGIN, requestWith, T0 } from "../helpers/manager.js";
import { tempDir } from "../helpers/tmp.js";

const keys = generateKeySet("HS256", "k1");
const MIN = 60_000;

function setup(
  overrides: Partial<SessionManagerOptions> = {},
  store: SessionStore = memoryStore(),
) {
  const clock = manualClock();
  const manager = createSessionManager({
    strategy: "jwt",
    store,
    keys,
    issuer: "https://app.example",
    audience: "app",
    clock: clock.now,
    cleanup: false,
    csrf: { origins: [ORIGIN] },
    lifetimes: { idle: "30m", absolute: "12h" },
    ...overrides,
  });
  return { manager, store, clock };
}
const withJwt = (token: string, init: Parameters<typeof requestWith>[0] = {}) =>
  requestWith({ ...init, cookie: `__Host-jwt=${token}` });

describe("jwt strategy", () => {
  it("issues a signed JWT with the session claims, in a __Host-jwt cookie, that jose verifies", async () => {
    const { manager } = setup();
    const { token, headers, session } = await manager.create({
      userId: "u1",
      data: { role: "admin" },
    });
    expect(headers.getSetCookie()[0]).toMatch(
      /^__Host-jwt=[\w-]+\.[\w-]+\.[\w-]+; Path=\/; Max-Age=43200; HttpOnly; Secure; SameSite=Lax$/,
    );
    const key = await jose.importJWK({ kty: "oct", k: keys.keys[0]?.k }, "HS256");
    const { payload, protectedHeader } = await jose.jwtVerify(token, key, {
      issuer: "https://app.example",
      audience: "app",
      currentDate: new Date(T0),
    });
    expect(protectedHeader).toEqual({ alg: "HS256", kid: "k1", typ: "JWT" });
    expect(payload).toMatchObject({
      sub: "u1",
      sid: session.id,
      iat: T0 / 1000,
      exp: T0 / 1000 + 1800,
      auth_time: T0 / 1000,
      data: { role: "admin" },
    });
    expect(typeof payload.jti).toBe("string");
  });

  it("authenticates without reading the store", async () => {
    const real = sqliteStore({ path: ":memory:" });
    let reads = 0;
    const counted: SessionStore = {
      ...real,
      get: (...args) => {
        reads++;
        return real.get(...args);
      },
      listUser: (...args) => {
        reads++;
        return real.listUser(...args);
      },
    };
    const { manager } = setup({}, counted);
    const { token, session } = await manager.create({ userId: "u1", data: { n: 1 } });
    reads = 0;
    for (let i = 0; i < 20; i++) {
      const result = await manager.authenticate(withJwt(token));
      expect(result.session).toMatchObject({
        id: session.id,
        userId: "u1",
        strategy: "jwt",
        data: { n: 1 },
      });
    }
    expect(reads).toBe(0);
    manager.close();
    await real.close();
  });

  it("rejects a revoked session at once, through the revocation set", async () => {
    const { manager } = setup();
    const a = await manager.create({ userId: "u1" });
    const b = await manager.create({ userId: "u1" });
    const c = await manager.create({ userId: "u1" });
    expect(await manager.revoke(a.session.id)).toBe(true);
    expect((await manager.authenticate(withJwt(a.token))).failure?.reason).toBe("revoked");
    expect(await manager.revokeUser("u1", { except: c.session.id })).toEqual([b.session.id]);
    expect((await manager.authenticate(withJwt(b.token))).failure?.reason).toBe("revoked");
    expect((await manager.authenticate(withJwt(c.token))).session).not.toBeNull();
    const { revoked } = await manager.logout(withJwt(c.token));
    expect(revoked).toBe(true);
    expect((await manager.authenticate(withJwt(c.token))).failure?.reason).toBe("revoked");
  });

  it("lists sessions from the inventory, like the id strategy", async () => {
    const { manager, clock } = setup();
    const a = await manager.create({ userId: "u1", userAgent: "A" });
    clock.advance(1);
    const b = await manager.create({ userId: "u1", userAgent: "B" });
    const list = await manager.list("u1", { current: b.session.id });
    expect(list.map((s) => [s.id, s.userAgent, s.current])).toEqual([
      [a.session.id, "A", false],
      [b.session.id, "B", true],
    ]);
  });

  it("re-issues past half its life with the same sid, never past the absolute limit, then expires", async () => {
    const { manager, clock } = setup({ lifetimes: { idle: "30m", absolute: "1h" } });
    let { token } = await manager.create({ userId: "u1" });
    const sid = JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString()).sid;
    clock.advance(10 * MIN);
    expect((await manager.authenticate(withJwt(token))).headers.getSetCookie()).toEqual([]);
    clock.advance(6 * MIN);
    const renewed =
      cookiesOf((await manager.authenticate(withJwt(token))).headers).get("__Host-jwt") ?? "";
    const claims = JSON.parse(Buffer.from(renewed.split(".")[1] ?? "", "base64url").toString());
    expect(claims.sid).toBe(sid);
    expect(claims.exp).toBe((T0 + 46 * MIN) / 1000);
    token = renewed;
    clock.advance(20 * MIN);
    token = cookiesOf((await manager.authenticate(withJwt(token))).headers).get("__Host-jwt") ?? "";
    expect(JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString()).exp).toBe(
      (T0 + 60 * MIN) / 1000,
    );
    clock.advance(25 * MIN + 31_000);
    expect((await manager.authenticate(withJwt(token))).failure?.reason).toBe("expired");
  });

  it("enforces CSRF on cookie-authenticated unsafe requests", async () => {
    const { manager } = setup();
    const { token } = await manager.create({ userId: "u1" });
    const evil = await manager.authenticate(
      withJwt(token, { method: "POST", headers: { origin: "https://evil.example" } }),
    );
    expect(evil.failure?.reason).toBe("csrf");
    const same = await manager.authenticate(
      withJwt(token, { method: "POST", headers: { "sec-fetch-site": "same-origin" } }),
    );
    expect(same.session).not.toBeNull();
  });

  it("accepts the Bearer transport and refuses tokens of the id strategy and garbage", async () => {
    const { manager } = setup();
    const { token } = await manager.create({ userId: "u1", transport: "header" });
    expect((await manager.authenticate(requestWith({ bearer: token }))).session?.transport).toBe(
      "header",
    );
    const idManager = createSessionManager({
      strategy: "id",
      store: memoryStore(),
      cleanup: false,
    });
    const idToken = (await idManager.create({ userId: "u1" })).token;
    expect((await manager.authenticate(requestWith({ bearer: idToken }))).failure?.reason).toBe(
      "invalid_token",
    );
    expect((await idManager.authenticate(requestWith({ bearer: token }))).failure?.reason).toBe(
      "malformed",
    );
  });

  it("sees revocations made by another process within the feed's interval", async () => {
    const path = join(tempDir(), "jwt.sqlite");
    const storeA = sqliteStore({ path, pollIntervalMs: 20 });
    const storeB = sqliteStore({ path, pollIntervalMs: 20 });
    const options = {
      keys,
      issuer: "https://app.example",
      audience: "app",
      cleanup: false as const,
    };
    const a = createSessionManager({ ...options, strategy: "jwt", store: storeA });
    const b = createSessionManager({ ...options, strategy: "jwt", store: storeB });
    const { token, session } = await a.create({ userId: "u1" });
    expect((await b.authenticate(withJwt(token))).session).not.toBeNull();
    await a.revoke(session.id);
    const deadline = Date.now() + 2000;
    while ((await b.authenticate(withJwt(token))).session && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect((await b.authenticate(withJwt(token))).failure?.reason).toBe("revoked");
    a.close();
    b.close();
    await storeA.close();
    await storeB.close();
  });

  it("fails closed once the change feed has been silent for longer than maxLag", async () => {
    const store = sqliteStore({ path: ":memory:", pollIntervalMs: 10 });
    const { manager } = setup({ revocation: { maxLag: "50ms" } }, store);
    const { token } = await manager.create({ userId: "u1" });
    expect((await manager.authenticate(withJwt(token))).session).not.toBeNull();
    await store.close(); // the feed stops confirming it is current
    await new Promise((resolve) => setTimeout(resolve, 120));
    const result = await manager.authenticate(withJwt(token));
    expect(result.failure).toEqual({
      reason: "revocation_stale",
      status: 503,
      transport: "cookie",
    });
  });

  it("needs keys, an issuer and an audience", () => {
    for (const drop of ["keys", "issuer", "audience"] as const) {
      let error: unknown;
      try {
        setup({ [drop]: undefined });
      } catch (e) {
        error = e;
      }
      expect(isSessionError(error, "CONFIG_INVALID"), drop).toBe(true);
    }
  });
});

describe("jwt strategy: a re-signed or malleated token of a revoked session", () => {
  it("rejects an ECDSA token whose s was replaced by n - s (a different string, still a valid signature)", async () => {
    const { verifyJws } = await import("../../src/tokens/jws.js");
    const { importKeySet } = await import("../../src/tokens/index.js");
    const esKeys = generateKeySet("ES256", "es");
    const { manager } = setup({ keys: esKeys });
    const { token, session } = await manager.create({ userId: "u1" });
    expect((await manager.authenticate(withJwt(token))).session).not.toBeNull(); // now in the verified-token cache
    await manager.revoke(session.id);
    const [head, body, sig] = token.split(".") as [string, string, string];
    const raw = Buffer.from(sig, "base64url");
    const n = BigInt("0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551");
    const s = BigInt(`0x${raw.subarray(32).toString("hex")}`);
    const malleated = Buffer.concat([
      raw.subarray(0, 32),
      Buffer.from((n - s).toString(16).padStart(64, "0"), "hex"),
    ]);
    const twin = `${head}.${body}.${malleated.toString("base64url")}`;
    expect(twin).not.toBe(token);
    // The codec alone accepts it: ECDSA signatures are malleable, which is why revocation is by sid.
    const keysByKid = new Map(importKeySet(esKeys).map((k) => [k.kid, k]));
    expect(verifyJws(twin, keysByKid).ok).toBe(true);
    expect((await manager.authenticate(withJwt(twin))).failure?.reason).toBe("revoked");
    expect((await manager.authenticate(withJwt(token))).failure?.reason).toBe("revoked");
  });
});
