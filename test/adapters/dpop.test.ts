import { createHash, randomUUID } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { getRequestListener } from "@hono/node-server";
import express from "express";
import { Hono } from "hono";
import * as jose from "jose";
import { describe, expect, it } from "vitest";
import * as ex from "../../src/adapters/express.js";
import * as ho from "../../src/adapters/hono.js";
import { createSessionManager, type SessionManager } from "../../src/index.js";
import { memoryStore } from "../../src/stores/memory/index.js";

// DPoP through the adapters' guards: a proof without the server's nonce is answered 401 with
// the next nonce (the guard of every adapter carries it: Hono's builds its own response).
type Listener = Parameters<typeof createServer>[1];
const apps: Record<string, (m: SessionManager) => Listener> = {
  express: (m) => {
    const app = express();
    app.use(ex.sessionkit(m));
    app.get("/me", ex.requireSession(), (_req, res) => {
      res.json({ ok: true });
    });
    return app;
  },
  hono: (m) => {
    const app = new Hono();
    app.use("/me", ho.sessionkit(m), ho.requireSession());
    app.get("/me", (c) => c.json({ ok: true }));
    return getRequestListener(app.fetch);
  },
};

describe.each(Object.keys(apps))("DPoP nonces through the %s guard", (name) => {
  it("answers a proof without the nonce 401 with a DPoP-Nonce, and accepts the retry", async () => {
    const manager = createSessionManager({
      strategy: "jwt",
      store: memoryStore(),
      cleanup: false,
      keys: (await import("../../src/tokens/keys.js")).generateKeySet("ES256"),
      issuer: "https://api.example",
      audience: "api",
      dpop: { nonce: true },
    });
    const server = createServer((apps[name] as (m: SessionManager) => Listener)(manager));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/me`;
    const { publicKey, privateKey } = await jose.generateKeyPair("ES256");
    const jwk = await jose.exportJWK(publicKey);
    const proof = (method: string, htu: string, extra: Record<string, unknown>) =>
      new jose.SignJWT({
        jti: randomUUID(),
        htm: method,
        htu,
        iat: Math.floor(Date.now() / 1000),
        ...extra,
      })
        .setProtectedHeader({ alg: "ES256", typ: "dpop+jwt", jwk })
        .sign(privateKey);
    // Sign-in: the first answer hands out the nonce.
    const login = "https://api.example/login";
    const first = await manager
      .create({
        userId: "alice",
        transport: "header",
        request: new Request(login, {
          method: "POST",
          headers: { dpop: await proof("POST", login, {}) },
        }),
      })
      .catch((error: { headers: Record<string, string> }) => error.headers["dpop-nonce"]);
    const nonce = String(first);
    const issued = await manager.create({
      userId: "alice",
      transport: "header",
      request: new Request(login, {
        method: "POST",
        headers: { dpop: await proof("POST", login, { nonce }) },
      }),
    });
    const ath = createHash("sha256").update(issued.token).digest("base64url");
    const without = await fetch(url, {
      headers: { authorization: `DPoP ${issued.token}`, dpop: await proof("GET", url, { ath }) },
    });
    expect(without.status).toBe(401);
    const next = without.headers.get("dpop-nonce");
    expect(next).toBeTruthy();
    expect(without.headers.get("www-authenticate")).toContain('error="use_dpop_nonce"');
    const retry = await fetch(url, {
      headers: {
        authorization: `DPoP ${issued.token}`,
        dpop: await proof("GET", url, { ath, nonce: next }),
      },
    });
    expect(retry.status).toBe(200);
    await new Promise<void>((resolve) => server.close(() => resolve()));
    manager.close();
  });
});
