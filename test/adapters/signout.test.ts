import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import express from "express";
import { Hono } from "hono";
import { afterAll, describe, expect, it } from "vitest";
import * as ex from "../../src/adapters/express.js";
import * as ho from "../../src/adapters/hono.js";
import { createSessionManager } from "../../src/index.js";
import { memoryStore } from "../../src/stores/memory/index.js";
import { generateKeySet } from "../../src/tokens/keys.js";
import { manualClock } from "../helpers/manager.js";

// The README's sign-out route, as written there: no guard in front of `signOut`. With a hybrid
// access token that has lapsed, the middleware sees no session (not a CSRF refusal), and the
// sign-out itself must refuse a cross-site request: it answered 204 while the session lived
// on (found by trying the README).
const ORIGIN = "https://app.example";
const clock = manualClock();
const manager = createSessionManager({
  strategy: "hybrid",
  store: memoryStore(),
  keys: generateKeySet(),
  issuer: ORIGIN,
  audience: "app",
  clock: clock.now,
  cleanup: false,
  csrf: { origins: [ORIGIN] },
});
afterAll(() => manager.close());

const expressApp = express();
expressApp.use(ex.sessionkit(manager));
expressApp.post("/logout", async (req, res) => {
  await ex.signOut(req, res);
  res.status(204).end();
});
expressApp.use(ex.sessionErrors());

const honoApp = new Hono<ho.SessionEnv>();
honoApp.use(ho.sessionkit(manager));
honoApp.post("/logout", async (c) => {
  await ho.signOut(c);
  return c.body(null, 204);
});
honoApp.onError(ho.sessionErrors());

const expressBase = await new Promise<string>((resolve) => {
  const server = createServer(expressApp).listen(0, "127.0.0.1", () =>
    resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`),
  );
  afterAll(() => new Promise<void>((done) => server.close(() => done())));
});
const targets: Array<[string, (path: string, init: RequestInit) => Promise<Response>]> = [
  ["express", (path, init) => fetch(expressBase + path, init)],
  ["hono", async (path, init) => honoApp.request(path, init)],
];

describe.each(targets)("%s: signOut without a guard in front", (_name, send) => {
  /** A browser whose access token lapsed (past its lifetime and the verifier's skew). */
  const signedIn = async () => {
    const { headers, session } = await manager.create({ userId: "u1" });
    clock.advance(6 * 60_000);
    const cookie = headers
      .getSetCookie()
      .map((line) => line.split(";")[0])
      .join("; ");
    return { cookie, id: session.id };
  };

  it("refuses a cross-site sign-out with 403: the session lives on", async () => {
    const { cookie, id } = await signedIn();
    const out = await send("/logout", {
      method: "POST",
      headers: { cookie, origin: "https://evil.example" },
    });
    expect(out.status).toBe(403);
    expect(((await out.json()) as { code: string }).code).toBe("csrf_failed");
    expect(await manager.get(id)).not.toBeNull();
  });

  it("ends the session on a same-origin sign-out, lapsed access token and all", async () => {
    const { cookie, id } = await signedIn();
    const out = await send("/logout", { method: "POST", headers: { cookie, origin: ORIGIN } });
    expect(out.status).toBe(204);
    expect(await manager.get(id)).toBeNull();
  });
});
