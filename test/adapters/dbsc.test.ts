import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import express from "express";
import Fastify from "fastify";
import { Hono } from "hono";
import * as jose from "jose";
import { afterAll, describe, expect, it } from "vitest";
import { deviceEndpoints as expressEndpoints } from "../../src/adapters/express.js";
import { deviceEndpoints as fastifyEndpoints } from "../../src/adapters/fastify.js";
import { deviceEndpoints as honoEndpoints } from "../../src/adapters/hono.js";
import { deviceEndpoints as nodeEndpoints } from "../../src/adapters/node.js";
import { createSessionManager, type SessionManager } from "../../src/index.js";
import { memoryStore } from "../../src/stores/memory/index.js";

// Each adapter's DBSC endpoints, in a real server of its framework: the registration binds,
// the refresh challenges and then renews with a proof from the bound key.
const REGISTER = "/dbsc/register";
const REFRESH = "/dbsc/refresh";

function manager() {
  return createSessionManager({
    strategy: "id",
    store: memoryStore(),
    cleanup: false,
    deviceBound: { registrationPath: REGISTER, refreshPath: REFRESH },
  });
}

type Served = { url: string; close(): Promise<void> };
const closing: Served[] = [];
afterAll(async () => {
  for (const s of closing) await s.close();
});

async function listenNode(handler: Parameters<typeof createServer>[1]): Promise<Served> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const servers: Record<string, (m: SessionManager) => Promise<Served>> = {
  node: (m) => {
    const dbsc = nodeEndpoints(m);
    return listenNode((req, res) => {
      const route = req.url === REGISTER ? dbsc.register : dbsc.refresh;
      route(req, res).catch(() => res.writeHead(500).end());
    });
  },
  express: (m) => {
    const dbsc = expressEndpoints(m);
    const app = express();
    app.post(REGISTER, dbsc.register);
    app.post(REFRESH, dbsc.refresh);
    return listenNode(app);
  },
  fastify: async (m) => {
    const dbsc = fastifyEndpoints(m);
    const app = Fastify();
    app.post(REGISTER, dbsc.register);
    app.post(REFRESH, dbsc.refresh);
    const url = await app.listen({ port: 0, host: "127.0.0.1" });
    return { url, close: () => app.close() };
  },
  hono: (m) => {
    const dbsc = honoEndpoints(m);
    const app = new Hono();
    app.post(REGISTER, dbsc.register);
    app.post(REFRESH, dbsc.refresh);
    return new Promise((resolve) => {
      const s = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, (info) =>
        resolve({
          url: `http://127.0.0.1:${info.port}`,
          close: () => new Promise<void>((r) => s.close(() => r())),
        }),
      );
    });
  },
};

describe.each(Object.keys(servers))("DBSC endpoints through the %s adapter", (name) => {
  it("registers a key, challenges a refresh, and renews the cookie with a proof", async () => {
    const m = manager();
    const served = await (servers[name] as (m: SessionManager) => Promise<Served>)(m);
    closing.push(served);
    const { publicKey, privateKey } = await jose.generateKeyPair("ES256");
    const jwk = await jose.exportJWK(publicKey);
    const sign = (jti: string, header: Record<string, unknown>) =>
      new jose.SignJWT({ jti })
        .setProtectedHeader({ alg: "ES256", typ: "dbsc+jwt", ...header })
        .sign(privateKey);

    const issued = await m.create({ userId: "alice", transport: "cookie" });
    const cookie = issued.headers.getSetCookie()[0]?.split(";")[0] ?? "";
    const challenge = /challenge="([^"]+)"/.exec(
      issued.headers.get("secure-session-registration") ?? "",
    )?.[1];
    const registered = await fetch(served.url + REGISTER, {
      method: "POST",
      headers: { cookie, "secure-session-response": await sign(challenge ?? "", { jwk }) },
    });
    expect(registered.status).toBe(200);
    expect(((await registered.json()) as { session_identifier: string }).session_identifier).toBe(
      issued.session.id,
    );
    expect(registered.headers.getSetCookie()[0]).toMatch(/Max-Age=600/);

    const asked = await fetch(served.url + REFRESH, {
      method: "POST",
      headers: { "sec-secure-session-id": issued.session.id },
    });
    expect(asked.status).toBe(403);
    const next = /^"([^"]+)"/.exec(asked.headers.get("secure-session-challenge") ?? "")?.[1];
    const renewed = await fetch(served.url + REFRESH, {
      method: "POST",
      headers: {
        "sec-secure-session-id": issued.session.id,
        "secure-session-response": await sign(next ?? "", {}),
      },
    });
    expect(renewed.status).toBe(200);
    const fresh = renewed.headers.getSetCookie()[0]?.split(";")[0] ?? "";
    const me = await m.authenticate(new Request("http://x/me", { headers: { cookie: fresh } }));
    expect(me.session?.deviceBound).toBe(true);
    m.close();
  });
});
