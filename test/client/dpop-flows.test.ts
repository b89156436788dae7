import * as jose from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createSessionClient,
  memoryDpopKeys,
  memoryTokens,
  type SessionClient,
  type TokenStorage,
} from "../../src/client/index.js";
import {
  type DpopServer,
  proofParts,
  STRATEGIES,
  type Strategy,
  sha256,
  startDpopServer,
  thiefProof,
} from "./dpop-server.js";

// sessionkit/client with `dpop` against the real session manager (DPoP on, header transport,
// behind the node adapter) in Node, with the key in memory: binding at sign-in, a proof per
// request, a copied token refused, the hybrid refresh signed, nonces, sign-out. Proofs are
// read back from what the server received and checked with jose.

describe.each(STRATEGIES)("sessionkit/client with DPoP against the %s strategy", (strategy) => {
  let server: DpopServer;
  beforeAll(async () => {
    server = await startDpopServer();
  });
  afterAll(async () => {
    await server?.close();
  });

  const start = async (keys = memoryDpopKeys(), tokens: TokenStorage = memoryTokens()) => {
    const c = createSessionClient({
      baseUrl: server.url,
      strategy,
      tokens,
      dpop: { keys },
      refreshPath: `/api/${strategy}/refresh`,
      accessLifetimeMs: 60 * 60_000,
      channel: `client-dpop-${strategy}-${Math.random()}`,
    });
    const response = await c.fetch(`/api/${strategy}/login`, { method: "POST" });
    expect(response.status).toBe(200);
    c.signedIn((await response.json()) as { accessToken: string; refreshToken?: string });
    return { c, keys, tokens };
  };
  const lastProof = async (path: string) => {
    const exchange = server.log.filter((e) => e.path === path).at(-1);
    return { exchange, ...(await proofParts(exchange?.dpop ?? "")) };
  };

  it("binds the sign-in to the client's key, then works with a fresh proof per request", async () => {
    const { c, tokens } = await start();
    const signIn = await lastProof(`/api/${strategy}/login`);
    expect(signIn.exchange?.authorization).toBeNull();
    const token = tokens.get("access") ?? "";
    if (strategy !== "id") {
      const claims = jose.decodeJwt(token) as { cnf?: { jkt?: string } };
      expect(claims.cnf?.jkt).toBe(signIn.jkt);
    }
    const jtis = new Set<unknown>();
    for (let i = 0; i < 3; i++) {
      expect((await c.fetch(`/api/${strategy}/me`)).status).toBe(200);
      const me = await lastProof(`/api/${strategy}/me`);
      expect(me.exchange?.authorization).toBe(`DPoP ${token}`);
      expect(me.payload).toMatchObject({ htm: "GET", htu: `${server.url}/api/${strategy}/me` });
      expect(me.payload.ath).toBe(sha256(token));
      expect(me.jkt).toBe(signIn.jkt);
      jtis.add(me.payload.jti);
    }
    expect(jtis.size).toBe(3);
    c.close();
  });

  it("leaves a copied token useless: refused as Bearer and with another key's proof", async () => {
    const { c, tokens } = await start();
    const token = tokens.get("access") ?? "";
    const url = `${server.url}/api/${strategy}/me`;
    const bearer = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
    expect(bearer.status).toBe(401);
    const stolen = await fetch(url, {
      headers: { authorization: `DPoP ${token}`, dpop: await thiefProof("GET", url, token) },
    });
    expect(stolen.status).toBe(401);
    expect(stolen.headers.get("www-authenticate")).toContain('error="invalid_token"');
    expect((await c.fetch(`/api/${strategy}/me`)).status).toBe(200);
    c.close();
  });

  it("signs out by forgetting the key: the next sign-in proves a new one", async () => {
    const { c, keys, tokens } = await start();
    const before = (await lastProof(`/api/${strategy}/login`)).jkt;
    await c.signOut(`/api/${strategy}/logout`);
    expect(await keys.get()).toBeNull();
    expect(tokens.get("access")).toBeNull();
    const again = await start(keys);
    expect((await lastProof(`/api/${strategy}/login`)).jkt).not.toBe(before);
    expect((await again.c.fetch(`/api/${strategy}/me`)).status).toBe(200);
    c.close();
    again.c.close();
  });

  // The client's sign-out (`Authorization: DPoP` and a proof) revokes the session; a copied
  // token sent as Bearer, without a proof, revokes nothing.
  it("ends the session on the server when the client signs out", async () => {
    const { c, keys, tokens } = await start();
    const pair = await keys.get();
    const token = tokens.get("access") ?? "";
    await c.signOut(`/api/${strategy}/logout`);
    // The old key and token, kept aside: the session they prove must be over.
    const kept = memoryDpopKeys();
    if (pair) await kept.add(pair);
    const old = memoryTokens();
    old.set("access", token);
    const replay = createSessionClient({ baseUrl: server.url, tokens: old, dpop: { keys: kept } });
    expect((await replay.fetch(`/api/${strategy}/me`)).status).toBe(401);
    c.close();
    replay.close();
  });
});

describe("sessionkit/client with DPoP: the hybrid refresh", () => {
  let server: DpopServer;
  beforeAll(async () => {
    server = await startDpopServer();
  });
  afterAll(async () => {
    await server?.close();
  });

  it("signs the refresh without ath, keeps the binding, and a thief's refresh is refused", async () => {
    const tokens = memoryTokens();
    const c: SessionClient = createSessionClient({
      baseUrl: server.url,
      strategy: "hybrid",
      tokens,
      dpop: { keys: memoryDpopKeys() },
      refreshPath: "/api/hybrid/refresh",
      accessLifetimeMs: 60 * 60_000,
      channel: `client-dpop-refresh-${Math.random()}`,
    });
    const login = await c.fetch("/api/hybrid/login", { method: "POST" });
    c.signedIn((await login.json()) as { accessToken: string; refreshToken: string });
    const signedInWith = jose.decodeJwt(tokens.get("access") ?? "") as { cnf?: { jkt?: string } };

    // A thief with the refresh token and a key of its own gets nothing, and ends nothing.
    const refreshUrl = `${server.url}/api/hybrid/refresh`;
    const stolen = await fetch(refreshUrl, {
      method: "POST",
      headers: { "content-type": "application/json", dpop: await thiefProof("POST", refreshUrl) },
      body: JSON.stringify({ refreshToken: tokens.get("refresh") }),
    });
    expect(stolen.status).toBe(401);

    await new Promise((resolve) => setTimeout(resolve, 1100)); // past the "just refreshed" window
    const before = tokens.get("access");
    expect(await c.refresh()).toBe(true);
    const exchange = server.log.filter((e) => e.path === "/api/hybrid/refresh").at(-1);
    expect(exchange?.status).toBe(200);
    const { payload } = await proofParts(exchange?.dpop ?? "");
    expect(payload).toMatchObject({ htm: "POST", htu: refreshUrl });
    expect(payload).not.toHaveProperty("ath");
    const after = tokens.get("access") ?? "";
    expect(after).not.toBe(before);
    expect((jose.decodeJwt(after) as { cnf?: { jkt?: string } }).cnf?.jkt).toBe(
      signedInWith.cnf?.jkt,
    );
    expect((await c.fetch("/api/hybrid/me")).status).toBe(200);
    c.close();
  });
});

describe("sessionkit/client with DPoP: an expired access token", () => {
  it("refreshes on 401 session_expired with a signed refresh, and retries the request", async () => {
    // Real time for the client's proofs, a server clock moved past the token's expiry and
    // the verifier's 30 s of skew (still within the proofs' 60 s of age).
    let offset = 0;
    const server = await startDpopServer({ hybridAccess: "2s", clock: () => Date.now() + offset });
    const tokens = memoryTokens();
    const c = createSessionClient({
      baseUrl: server.url,
      strategy: "hybrid",
      tokens,
      dpop: { keys: memoryDpopKeys() },
      refreshPath: "/api/hybrid/refresh",
      accessLifetimeMs: 60 * 60_000,
      channel: `client-dpop-expired-${Math.random()}`,
    });
    const login = await c.fetch("/api/hybrid/login", { method: "POST" });
    c.signedIn((await login.json()) as { accessToken: string; refreshToken: string });
    const first = tokens.get("access");
    await new Promise((resolve) => setTimeout(resolve, 1100)); // past the "just refreshed" window
    offset = 35_000;
    const from = server.log.length;
    expect((await c.fetch("/api/hybrid/me")).status).toBe(200);
    expect(server.log.slice(from).map((e) => `${e.path} ${e.status}`)).toEqual([
      "/api/hybrid/me 401",
      "/api/hybrid/refresh 200",
      "/api/hybrid/me 200",
    ]);
    const retried = server.log.at(-1);
    expect(retried?.authorization).toBe(`DPoP ${tokens.get("access")}`);
    expect(tokens.get("access")).not.toBe(first);
    c.close();
    await server.close();
  });
});

describe("sessionkit/client with DPoP and server nonces", () => {
  let server: DpopServer;
  beforeAll(async () => {
    server = await startDpopServer({ nonce: true });
  });
  afterAll(async () => {
    await server?.close();
  });

  it.each(STRATEGIES)(
    "%s: retries once with the nonce the server hands out, then sends it unasked",
    async (strategy: Strategy) => {
      const tokens = memoryTokens();
      const c = createSessionClient({
        baseUrl: server.url,
        strategy,
        tokens,
        dpop: { keys: memoryDpopKeys() },
        refreshPath: `/api/${strategy}/refresh`,
        accessLifetimeMs: 60 * 60_000,
        channel: `client-dpop-nonce-${strategy}-${Math.random()}`,
      });
      const from = server.log.length;
      const login = await c.fetch(`/api/${strategy}/login`, { method: "POST" });
      expect(login.status).toBe(200);
      c.signedIn((await login.json()) as { accessToken: string; refreshToken?: string });
      expect((await c.fetch(`/api/${strategy}/me`)).status).toBe(200);
      const seen = server.log.slice(from).filter((e) => e.path.startsWith(`/api/${strategy}/`));
      // login refused for want of a nonce, login with it, then /me with it at the first try.
      expect(seen.map((e) => `${e.path.split("/").at(-1)} ${e.status}`)).toEqual([
        "login 401",
        "login 200",
        "me 200",
      ]);
      const nonces = await Promise.all(
        seen.map(async (e) => (await proofParts(e.dpop ?? "")).payload.nonce),
      );
      expect(nonces[0]).toBeUndefined();
      expect(nonces[1]).toEqual(expect.any(String));
      expect(nonces[2]).toBe(nonces[1]);
      if (strategy === "hybrid") {
        await new Promise((resolve) => setTimeout(resolve, 1100));
        expect(await c.refresh()).toBe(true);
        const refresh = server.log.filter((e) => e.path === "/api/hybrid/refresh").at(-1);
        expect((await proofParts(refresh?.dpop ?? "")).payload.nonce).toBe(nonces[1]);
      }
      c.close();
    },
  );
});
