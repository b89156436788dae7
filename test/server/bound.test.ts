import { createHash, randomUUID } from "node:crypto";
import * as jose from "jose";
import { describe, expect, it } from "vitest";
import {
  APP_ORIGIN,
  APP_PASSWORD,
  appClient,
  referenceApp,
  signedInClient,
} from "../helpers/app.js";

// The reference server binds what a client proves: DPoP for header-transport sign-ins that
// carry a proof (every strategy), DBSC for the id cookie of a browser that registers a key.
const { app } = referenceApp();

async function clientKey() {
  const { publicKey, privateKey } = await jose.generateKeyPair("ES256");
  return { privateKey, jwk: await jose.exportJWK(publicKey) };
}
type Key = Awaited<ReturnType<typeof clientKey>>;

const dpopProof = (key: Key, method: string, path: string, token?: string) =>
  new jose.SignJWT({
    jti: randomUUID(),
    htm: method,
    htu: APP_ORIGIN + path,
    iat: Math.floor(Date.now() / 1000),
    ...(token ? { ath: createHash("sha256").update(token).digest("base64url") } : {}),
  })
    .setProtectedHeader({ alg: "ES256", typ: "dpop+jwt", jwk: key.jwk })
    .sign(key.privateKey);

describe("reference server: DPoP-bound header tokens", () => {
  it.each(["id", "jwt", "hybrid"] as const)(
    "%s: a sign-in with a proof gets a DPoP token that works with proofs only",
    async (strategy) => {
      const { username } = await signedInClient(app, "id");
      const key = await clientKey();
      const c = appClient(app);
      const login = await c.request(
        "POST",
        `/api/${strategy}/login`,
        { username, password: APP_PASSWORD, transport: "header" },
        { dpop: await dpopProof(key, "POST", `/api/${strategy}/login`) },
      );
      expect(login.status).toBe(200);
      const body = (await login.json()) as { accessToken: string; tokenType: string };
      expect(body.tokenType).toBe("DPoP");
      const token = body.accessToken;
      const fresh = appClient(app);
      const ok = await fresh.request("GET", `/api/${strategy}/me`, undefined, {
        authorization: `DPoP ${token}`,
        dpop: await dpopProof(key, "GET", `/api/${strategy}/me`, token),
      });
      expect(ok.status).toBe(200);
      expect(((await ok.json()) as { session: { deviceBound: boolean } }).session.deviceBound).toBe(
        true,
      );
      // The token copied alone, as a thief would have it.
      const stolen = await fresh.request("GET", `/api/${strategy}/me`, undefined, {
        authorization: `Bearer ${token}`,
      });
      expect(stolen.status).toBe(401);
      expect(stolen.headers.get("www-authenticate")).toMatch(/^DPoP /);
    },
  );

  it("answers a sign-in with a bad proof 401 with the DPoP challenge, not 500", async () => {
    const { username } = await signedInClient(app, "id");
    const key = await clientKey();
    const login = await appClient(app).request(
      "POST",
      "/api/jwt/login",
      { username, password: APP_PASSWORD, transport: "header" },
      { dpop: await dpopProof(key, "POST", "/api/elsewhere") },
    );
    expect(login.status).toBe(401);
    expect(login.headers.get("www-authenticate")).toMatch(/^DPoP .*invalid_dpop_proof/);
  });
});

describe("reference server: DBSC for the id cookie", () => {
  it("offers registration at sign-in, binds the key, and lists the session as device-bound", async () => {
    const { username } = await signedInClient(app, "id");
    const c = appClient(app);
    const login = await c.request("POST", "/api/id/login", { username, password: APP_PASSWORD });
    const offer = login.headers.get("secure-session-registration") ?? "";
    expect(offer).toContain('path="/api/id/dbsc/register"');
    const challenge = /challenge="([^"]+)"/.exec(offer)?.[1] ?? "";
    const key = await clientKey();
    const proof = await new jose.SignJWT({ jti: challenge })
      .setProtectedHeader({ alg: "ES256", typ: "dbsc+jwt", jwk: key.jwk })
      .sign(key.privateKey);
    const registered = await c.request("POST", "/api/id/dbsc/register", undefined, {
      "secure-session-response": proof,
    });
    expect(registered.status).toBe(200);
    const instructions = (await registered.json()) as { refresh_url: string };
    expect(instructions.refresh_url).toBe("/api/id/dbsc/refresh");
    const list = await c.request("GET", "/api/id/sessions");
    const { sessions } = (await list.json()) as {
      sessions: Array<{ current: boolean; deviceBound: boolean }>;
    };
    expect(sessions.find((s) => s.current)?.deviceBound).toBe(true);
  });
});
