import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { client, type ServerProcess, startServerProcess } from "../helpers/server.js";
import { tempDir } from "../helpers/tmp.js";

// The jwt and hybrid strategies over HTTP, against the server as a real process. The refresh
// grace is lowered to 500 ms by flag so that reuse can be shown without a long wait.
const dir = tempDir();
let server: ServerProcess;
let base: string;
const PASSWORD = "correct horse battery";

beforeAll(async () => {
  server = await startServerProcess(dir, ["--refresh-grace", "500ms"]);
  base = server.url;
  expect(
    (await client(base).request("POST", "/api/users", { username: "tokens", password: PASSWORD }))
      .status,
  ).toBe(201);
});
afterAll(async () => {
  expect(await server.stop()).toBe(0);
});

const login = async (strategy: string, transport: "cookie" | "header" = "cookie") => {
  const c = client(base, transport === "header" ? null : base);
  const r = await c.request(
    "POST",
    `/api/${strategy}/login`,
    { username: "tokens", password: PASSWORD, transport },
    transport === "header" ? { origin: base } : {},
  );
  expect(r.status).toBe(200);
  return { c, r };
};
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

describe("jwt strategy over HTTP", () => {
  it("cookie transport: sign in, /me, list, revoke elsewhere, rejected at once", async () => {
    const { c, r } = await login("jwt");
    expect(r.headers.getSetCookie()[0]).toMatch(/^__Host-jwt=[\w-]+\.[\w-]+\.[\w-]+;/);
    const me = await c.request("GET", "/api/jwt/me");
    expect(me.status).toBe(200);
    expect(me.json.session).toMatchObject({ id: r.json.session.id, strategy: "jwt" });
    const other = await login("jwt");
    const list = await other.c.request("GET", "/api/jwt/sessions");
    expect(list.json.sessions.some((s: { id: string }) => s.id === r.json.session.id)).toBe(true);
    expect((await other.c.request("DELETE", `/api/jwt/sessions/${r.json.session.id}`)).status).toBe(
      204,
    );
    expect((await c.request("GET", "/api/jwt/me")).status).toBe(401);
  });

  it("header transport: the token in the body, Bearer on requests, logout revokes it", async () => {
    const { r } = await login("jwt", "header");
    const token = r.json.accessToken as string;
    expect(r.headers.getSetCookie()).toEqual([]);
    const api = client(base, null);
    expect((await api.request("GET", "/api/jwt/me", undefined, bearer(token))).status).toBe(200);
    expect((await api.request("POST", "/api/jwt/logout", undefined, bearer(token))).status).toBe(
      204,
    );
    const after = await api.request("GET", "/api/jwt/me", undefined, bearer(token));
    expect(after.status).toBe(401);
    expect(after.headers.get("www-authenticate")).toMatch(
      /^Bearer error="invalid_token", DPoP algs="/,
    );
  });
});

describe("hybrid strategy over HTTP", () => {
  it("cookie transport: access and refresh cookies, refresh rotates them", async () => {
    const { c, r } = await login("hybrid");
    const cookies = r.headers.getSetCookie();
    expect(cookies[0]).toMatch(/^__Host-at=/);
    expect(cookies[1]).toMatch(/^__Secure-rt=[\w-]{22}\.[\w-]{43}; Path=\/api\/hybrid\/refresh;/);
    expect((await c.request("GET", "/api/hybrid/me")).status).toBe(200);
    const before = c.jar.get("__Secure-rt");
    const refreshed = await c.request("POST", "/api/hybrid/refresh");
    expect(refreshed.status).toBe(200);
    expect(refreshed.headers.get("cache-control")).toBe("no-store");
    expect(c.jar.get("__Secure-rt")).not.toBe(before);
    expect((await c.request("GET", "/api/hybrid/me")).status).toBe(200);
  });

  it("header transport: 20 parallel refreshes with one token give one successor and no 5xx", async () => {
    const { r } = await login("hybrid", "header");
    const api = client(base, null);
    const results = await Promise.all(
      Array.from({ length: 20 }, () =>
        api.request("POST", "/api/hybrid/refresh", { refreshToken: r.json.refreshToken }),
      ),
    );
    expect(results.map((x) => x.status)).toEqual(Array(20).fill(200));
    expect(new Set(results.map((x) => x.json.refreshToken)).size).toBe(1);
  });

  it("reuse after the grace revokes the session: the current access token is rejected too", async () => {
    const { r } = await login("hybrid", "header");
    const api = client(base, null);
    const next = await api.request("POST", "/api/hybrid/refresh", {
      refreshToken: r.json.refreshToken,
    });
    expect(next.status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 600)); // past the 500 ms grace
    const reuse = await api.request("POST", "/api/hybrid/refresh", {
      refreshToken: r.json.refreshToken,
    });
    expect(reuse.status).toBe(401);
    expect(
      (await api.request("GET", "/api/hybrid/me", undefined, bearer(next.json.accessToken))).status,
    ).toBe(401);
    expect(
      (await api.request("POST", "/api/hybrid/refresh", { refreshToken: next.json.refreshToken }))
        .status,
    ).toBe(401);
  });
});

describe("strategies keep to their own tokens", () => {
  it("a jwt token is refused by /api/hybrid, an access token by /api/jwt, an id token by both", async () => {
    const jwt = (await login("jwt", "header")).r.json.accessToken as string;
    const access = (await login("hybrid", "header")).r.json.accessToken as string;
    const id = (await login("id", "header")).r.json.accessToken as string;
    const api = client(base, null);
    expect((await api.request("GET", "/api/hybrid/me", undefined, bearer(jwt))).status).toBe(401);
    expect((await api.request("GET", "/api/jwt/me", undefined, bearer(access))).status).toBe(401);
    expect((await api.request("GET", "/api/jwt/me", undefined, bearer(id))).status).toBe(401);
    expect((await api.request("GET", "/api/id/me", undefined, bearer(jwt))).status).toBe(401);
    expect((await api.request("GET", "/api/jwt/me", undefined, bearer(jwt))).status).toBe(200);
  });

  it("publishes a JWKS without symmetric keys", async () => {
    const r = await client(base).request("GET", "/.well-known/jwks.json");
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ keys: [] });
  });
});
