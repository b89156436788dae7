import { describe, expect, it } from "vitest";
import { generateKeySet } from "../../src/tokens/index.js";
import { appClient, referenceApp, signedInClient } from "../helpers/app.js";

// The token inspector's endpoints: this browser's own token for same-origin pages only (and
// only with --lab), the live-session check next to the signature's verdict, and junk answered
// as junk.
const { app } = referenceApp({ lab: true });
const SAME_ORIGIN = { "sec-fetch-site": "same-origin" };

const myToken = (c: ReturnType<typeof appClient>, headers: Record<string, string> = SAME_ORIGIN) =>
  c.request("GET", "/api/inspect/my-token", undefined, headers);

const inspect = async (token: string) => {
  const r = await appClient(app).request("POST", "/api/inspect", { token });
  expect(r.status).toBe(200);
  return (await r.json()) as {
    jwks: { ok: boolean; reason?: string };
    server: { ok: boolean; reason?: string };
    session: { live: boolean | null };
  };
};

describe("token inspector: the caller's own token", () => {
  it("is handed to a same-origin request of a jwt or hybrid session, never cached", async () => {
    for (const strategy of ["jwt", "hybrid"] as const) {
      const c = await signedInClient(app, strategy);
      const r = await myToken(c);
      expect(r.status, strategy).toBe(200);
      expect(r.headers.get("cache-control")).toBe("no-store");
      const body = (await r.json()) as { strategy: string; token: string };
      expect(body.strategy).toBe(strategy);
      // The very token of the browser's cookie.
      expect([...c.jar.values()]).toContain(body.token);
      expect((await inspect(body.token)).server).toEqual({ ok: true });
    }
  });

  it("is refused (403) to a cross-site, same-site or navigation request, or one without Sec-Fetch-Site", async () => {
    const c = await signedInClient(app, "jwt");
    for (const site of ["cross-site", "same-site", "none"]) {
      const r = await myToken(c, { "sec-fetch-site": site });
      expect(r.status, site).toBe(403);
      expect(await r.text()).not.toContain(".");
    }
    expect((await myToken(c, {})).status).toBe(403);
  });

  it("is 401 without a session, and for an id session (its token is no JWT)", async () => {
    const none = await myToken(appClient(app));
    expect(none.status).toBe(401);
    expect(none.headers.get("cache-control")).toBe("no-store");
    expect((await myToken(await signedInClient(app, "id"))).status).toBe(401);
  });
});

describe("token inspector without --lab", () => {
  const plain = referenceApp().app;

  it("hands no token back: no button on the page, no route, and says how to get the token", async () => {
    const c = await signedInClient(plain, "jwt");
    const r = await myToken(c);
    expect(r.status).toBe(404);
    expect(await r.text()).not.toContain(".ey");
    const page = await (await c.request("GET", "/inspect")).text();
    expect(page).not.toContain('id="use-mine"');
    expect(page).toContain("--lab");
    expect(page).toContain("curl -s");
  });
});

describe("token inspector: the JWKS hint", () => {
  it("with HMAC keys, says how to publish a key (private key kept 0600); with an asymmetric one, that it is published", async () => {
    const hmac = await (await appClient(app).request("GET", "/inspect")).text();
    expect(hmac).toContain("(umask 077; npx sessionkit keys generate --alg ES256");
    const es = referenceApp({ keys: generateKeySet("ES256", "es") }).app;
    const asymmetric = await (await appClient(es).request("GET", "/inspect")).text();
    expect(asymmetric).toContain("This server signs with ES256: the public half of its key is in");
    expect(asymmetric).not.toContain("keys generate");
  });
});

describe("token inspector: verdicts", () => {
  it("says a token's session is live, then not live after sign-out while the signature stays valid", async () => {
    const c = await signedInClient(app, "jwt");
    const { token } = (await (await myToken(c)).json()) as { token: string };
    expect((await inspect(token)).session.live).toBe(true);
    expect((await c.request("POST", "/api/jwt/logout")).status).toBe(204);
    const after = await inspect(token);
    expect(after.server).toEqual({ ok: true });
    expect(after.session.live).toBe(false);
  });

  it("calls a non-JWT malformed for the JWKS check too (not no_public_keys), and checks no session", async () => {
    expect((await inspect("garbage")).jwks).toEqual({ ok: false, reason: "malformed" });
    for (const junk of ["garbage", "a.b", "a.b.c", "....", "e30.e30.e30"]) {
      const result = await inspect(junk);
      // No key set could make it valid: the JWKS check says why, as the server's does.
      expect(result.jwks.reason, junk).not.toMatch(/no_public_keys/);
      expect(result.jwks, junk).toEqual(result.server);
      expect(result.server.ok, junk).toBe(false);
      expect(result.session.live, junk).toBeNull();
    }
  });

  it("answers junk bodies with 4xx, never 5xx", async () => {
    const c = appClient(app);
    for (const body of ["{", "[]", '{"token":5}', `{"token":"${"a".repeat(9000)}"}`, "null"]) {
      const r = await c.request("POST", "/api/inspect", body);
      expect(r.status, body).toBeGreaterThanOrEqual(400);
      expect(r.status, body).toBeLessThan(500);
    }
  });
});
