import { createHash, randomUUID } from "node:crypto";
import * as jose from "jose";
import { describe, expect, it } from "vitest";
import { createSessionManager, type SessionManagerOptions } from "../../src/index.js";
import { memoryStore } from "../../src/stores/memory/index.js";
import type { SessionStore } from "../../src/stores/types.js";
import { generateKeySet } from "../../src/tokens/keys.js";
import { type ClientKey, clientKey } from "../pop/keys.js";

// DPoP (RFC 9449) through the session manager, with proofs made by jose as a client would
// make them: a token bound at sign-in works only with fresh proofs from the key it is bound
// to, whatever the strategy.
const ORIGIN = "https://api.example";
const STRATEGIES = ["id", "jwt", "hybrid"] as const;
type Strategy = (typeof STRATEGIES)[number];

function managerFor(
  strategy: Strategy,
  dpop: SessionManagerOptions["dpop"] = {},
  store: SessionStore = memoryStore(),
) {
  return createSessionManager({
    strategy,
    store,
    cleanup: false,
    dpop,
    ...(strategy === "id"
      ? {}
      : { keys: generateKeySet("ES256"), issuer: ORIGIN, audience: "api" }),
  });
}

const ath = (token: string) => createHash("sha256").update(token).digest("base64url");

async function proof(
  key: ClientKey,
  method: string,
  url: string,
  extra: Record<string, unknown> = {},
): Promise<string> {
  return new jose.SignJWT({
    jti: randomUUID(),
    htm: method,
    htu: url,
    iat: Math.floor(Date.now() / 1000),
    ...extra,
  })
    .setProtectedHeader({ alg: key.alg, typ: "dpop+jwt", jwk: key.publicJwk })
    .sign(key.privateKey);
}

const request = (path: string, headers: Record<string, string>, method = "GET") =>
  new Request(ORIGIN + path, { method, headers });

async function signIn(manager: ReturnType<typeof managerFor>, key: ClientKey | null) {
  const headers: Record<string, string> = key
    ? { dpop: await proof(key, "POST", `${ORIGIN}/login`) }
    : {};
  return manager.create({
    userId: "alice",
    transport: "header",
    request: request("/login", headers, "POST"),
  });
}

async function me(
  manager: ReturnType<typeof managerFor>,
  token: string,
  key: ClientKey | null,
  options: { scheme?: string; extra?: Record<string, unknown>; url?: string } = {},
) {
  const headers: Record<string, string> = {
    authorization: `${options.scheme ?? (key ? "DPoP" : "Bearer")} ${token}`,
  };
  if (key) {
    headers.dpop = await proof(key, "GET", options.url ?? `${ORIGIN}/me`, {
      ath: ath(token),
      ...options.extra,
    });
  }
  return manager.authenticate(request("/me", headers));
}

describe.each(STRATEGIES)("DPoP with the %s strategy", (strategy) => {
  it("binds a sign-in that proves a key, and accepts the token only with fresh proofs from it", async () => {
    const manager = managerFor(strategy);
    const key = await clientKey("ES256");
    const issued = await signIn(manager, key);
    if (strategy !== "id") {
      const claims = jose.decodeJwt(issued.token) as { cnf?: { jkt?: string } };
      expect(claims.cnf?.jkt).toBe(await jose.calculateJwkThumbprint(key.publicJwk));
    }
    const first = await me(manager, issued.token, key);
    expect(first.session?.userId).toBe("alice");
    const second = await me(manager, issued.token, key);
    expect(second.session?.userId).toBe("alice");
    manager.close();
  });

  it("refuses the bound token without a proof, under Bearer, or with a thief's own key", async () => {
    const manager = managerFor(strategy);
    const key = await clientKey("ES256");
    const thief = await clientKey("ES256");
    const { token } = await signIn(manager, key);

    const bearer = await me(manager, token, null);
    expect(bearer.failure?.reason).toBe("dpop_required");
    expect(bearer.failure?.challenge).toMatch(/^DPoP /);

    const noProof = await me(manager, token, null, { scheme: "DPoP" });
    expect(noProof.failure?.reason).toBe("dpop_required");

    const stolen = await me(manager, token, thief);
    expect(stolen.failure?.reason).toBe("dpop_invalid");
    // The proof is sound; the token is bound to another key (RFC 9449 §7.1: invalid_token).
    expect(stolen.failure?.challenge).toContain('error="invalid_token"');
    manager.close();
  });

  it("refuses a replayed proof, a proof for another URI or method, and one without the token's hash", async () => {
    const manager = managerFor(strategy);
    const key = await clientKey("ES256");
    const { token } = await signIn(manager, key);
    const headers = {
      authorization: `DPoP ${token}`,
      dpop: await proof(key, "GET", `${ORIGIN}/me`, { ath: ath(token) }),
    };
    expect((await manager.authenticate(request("/me", headers))).session).not.toBeNull();
    const replayed = await manager.authenticate(request("/me", headers));
    expect(replayed.failure?.reason).toBe("dpop_invalid");

    const elsewhere = await me(manager, token, key, { url: `${ORIGIN}/admin` });
    expect(elsewhere.failure?.reason).toBe("dpop_invalid");
    const wrongMethod = await manager.authenticate(
      request("/me", {
        authorization: `DPoP ${token}`,
        dpop: await proof(key, "POST", `${ORIGIN}/me`, { ath: ath(token) }),
      }),
    );
    expect(wrongMethod.failure?.reason).toBe("dpop_invalid");
    const noHash = await manager.authenticate(
      request("/me", {
        authorization: `DPoP ${token}`,
        dpop: await proof(key, "GET", `${ORIGIN}/me`),
      }),
    );
    expect(noHash.failure?.reason).toBe("dpop_invalid");
    const twoProofs = await manager.authenticate(
      request("/me", {
        authorization: `DPoP ${token}`,
        dpop: `${await proof(key, "GET", `${ORIGIN}/me`, { ath: ath(token) })}, ${await proof(key, "GET", `${ORIGIN}/me`, { ath: ath(token) })}`,
      }),
    );
    expect(twoProofs.failure?.reason).toBe("dpop_required");
    manager.close();
  });

  it("leaves a sign-in without a proof unbound: Bearer works, the DPoP scheme is refused", async () => {
    const manager = managerFor(strategy);
    const key = await clientKey("ES256");
    const { token } = await signIn(manager, null);
    expect((await me(manager, token, null)).session?.userId).toBe("alice");
    expect((await me(manager, token, key)).failure?.reason).toBe("dpop_required");
    manager.close();
  });

  it("required: refuses a sign-in without a proof, with a bad one, and unbound tokens", async () => {
    const manager = managerFor(strategy, { required: true });
    const lax = managerFor(strategy, {}, memoryStore());
    await expect(signIn(manager, null)).rejects.toMatchObject({
      code: "DPOP_REFUSED",
      statusCode: 401,
      headers: { "www-authenticate": expect.stringMatching(/^DPoP /) },
    });
    const key = await clientKey("ES256");
    const bad = manager.create({
      userId: "alice",
      transport: "header",
      request: request("/login", { dpop: await proof(key, "POST", `${ORIGIN}/elsewhere`) }, "POST"),
    });
    await expect(bad).rejects.toMatchObject({ code: "DPOP_REFUSED" });
    const { token } = await signIn(manager, key);
    expect((await me(manager, token, key)).session?.userId).toBe("alice");
    lax.close();
    manager.close();
  });

  it("nonces: a proof without the server's nonce gets one to retry with", async () => {
    const manager = managerFor(strategy, { nonce: true });
    const key = await clientKey("ES256");
    // Sign-in needs a nonce too: the first answer hands it out.
    const refused = await signIn(manager, key).catch((error: unknown) => error);
    expect(refused).toMatchObject({ code: "DPOP_REFUSED" });
    const nonce = (refused as { headers: Record<string, string> }).headers["dpop-nonce"];
    expect(nonce).toBeTruthy();
    const issued = await manager.create({
      userId: "alice",
      transport: "header",
      request: request(
        "/login",
        { dpop: await proof(key, "POST", `${ORIGIN}/login`, { nonce }) },
        "POST",
      ),
    });
    const withNonce = await me(manager, issued.token, key, { extra: { nonce } });
    expect(withNonce.session?.userId).toBe("alice");
    const without = await me(manager, issued.token, key);
    expect(without.failure?.reason).toBe("dpop_nonce");
    expect(without.headers.get("dpop-nonce")).toBeTruthy();
    manager.close();
  });

  it("signs out with a proof from the key only: a copied token cannot end the session", async () => {
    const manager = managerFor(strategy);
    const key = await clientKey("ES256");
    const { token } = await signIn(manager, key);
    const byThief = await manager.logout(
      request("/logout", { authorization: `Bearer ${token}` }, "POST"),
    );
    expect(byThief.revoked).toBe(false);
    expect((await me(manager, token, key)).session?.userId).toBe("alice");
    const byOwner = await manager.logout(
      request(
        "/logout",
        {
          authorization: `DPoP ${token}`,
          dpop: await proof(key, "POST", `${ORIGIN}/logout`, { ath: ath(token) }),
        },
        "POST",
      ),
    );
    expect(byOwner.revoked).toBe(true);
    expect((await me(manager, token, key)).session).toBeNull();
    manager.close();
  });

  it("leaves cookie sessions as they are", async () => {
    const manager = managerFor(strategy);
    const issued = await manager.create({ userId: "alice", transport: "cookie" });
    const cookie = issued.headers
      .getSetCookie()
      .map((c) => c.split(";")[0])
      .join("; ");
    const result = await manager.authenticate(request("/me", { cookie }));
    expect(result.session?.userId).toBe("alice");
    manager.close();
  });
});

describe("DPoP and the hybrid refresh token", () => {
  it("rotates a bound refresh token only with a proof from its key, and keeps the binding", async () => {
    const manager = managerFor("hybrid");
    const key = await clientKey("ES256");
    const thief = await clientKey("ES256");
    const issued = await signIn(manager, key);
    const refreshToken = issued.refreshToken ?? "";
    const at = (k: ClientKey) => proof(k, "POST", `${ORIGIN}/refresh`);

    const none = await manager.refresh(request("/refresh", {}, "POST"), { refreshToken });
    expect(none.failure?.reason).toBe("dpop_required");
    const stolen = await manager.refresh(request("/refresh", { dpop: await at(thief) }, "POST"), {
      refreshToken,
    });
    expect(stolen.failure?.reason).toBe("dpop_invalid");
    const ok = await manager.refresh(request("/refresh", { dpop: await at(key) }, "POST"), {
      refreshToken,
    });
    expect(ok.accessToken).toBeTruthy();
    const claims = jose.decodeJwt(ok.accessToken ?? "") as { cnf?: { jkt?: string } };
    expect(claims.cnf?.jkt).toBe(await jose.calculateJwkThumbprint(key.publicJwk));
    expect((await me(manager, ok.accessToken ?? "", key)).session?.userId).toBe("alice");
    manager.close();
  });
});

describe("DPoP configuration", () => {
  it("refuses a store that cannot keep a binding, and a manager without header transport", () => {
    const { bind: _bind, ...withoutBind } = memoryStore();
    expect(() => managerFor("id", {}, withoutBind as SessionStore)).toThrow(/bind/);
    expect(() =>
      createSessionManager({
        strategy: "id",
        store: memoryStore(),
        cleanup: false,
        transports: ["cookie"],
        dpop: {},
      }),
    ).toThrow(/header/);
    expect(() => managerFor("id", { algorithms: ["HS256" as never] })).toThrow(/algorithms/);
    expect(() => managerFor("id", { origin: "not an origin" })).toThrow(/origin/);
  });

  it("with DPoP off, a session bound earlier is refused rather than let through unbound", async () => {
    const store = memoryStore();
    const bound = managerFor("id", {}, store);
    const key = await clientKey("ES256");
    const { token } = await signIn(bound, key);
    const off = createSessionManager({ strategy: "id", store, cleanup: false });
    const result = await off.authenticate(request("/me", { authorization: `Bearer ${token}` }));
    expect(result.failure?.reason).toBe("dpop_required");
    bound.close();
    off.close();
  });
});
