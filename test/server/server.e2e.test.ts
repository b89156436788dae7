import { statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { client, type ServerProcess, startServerProcess } from "../helpers/server.js";
import { tempDir } from "../helpers/tmp.js";

const dir = tempDir();
let server: ServerProcess;
let base: string;

beforeAll(async () => {
  server = await startServerProcess(dir);
  base = server.url;
});
afterAll(async () => {
  expect(await server.stop()).toBe(0);
});

const PASSWORD = "correct horse battery";
let n = 0;
async function newUser(prefix = "user") {
  const username = `${prefix}${++n}${Date.now() % 100000}`;
  const c = client(base);
  const r = await c.request("POST", "/api/users", { username, password: PASSWORD });
  expect(r.status).toBe(201);
  return { username, c, id: r.json.user.id as string };
}
async function signedIn(prefix = "user") {
  const u = await newUser(prefix);
  const r = await u.c.request("POST", "/api/id/login", {
    username: u.username,
    password: PASSWORD,
  });
  expect(r.status).toBe(200);
  return { ...u, login: r };
}

describe("reference server over HTTP (real process)", () => {
  it("creates its data folder with the database and a 0600 key file, and logs it", () => {
    expect(statSync(join(dir, "keys.json")).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, "db.sqlite")).isFile()).toBe(true);
    expect(server.output()).toMatch(/generated new signing keys/);
  });

  it("answers /healthz", async () => {
    const r = await client(base).request("GET", "/healthz");
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ status: "ok" });
  });

  it("registers: 201, 409 when taken (any case), 400 when invalid", async () => {
    const { username, c } = await newUser();
    expect(
      (
        await c.request("POST", "/api/users", {
          username: username.toUpperCase(),
          password: PASSWORD,
        })
      ).status,
    ).toBe(409);
    expect(
      (await c.request("POST", "/api/users", { username: "a", password: PASSWORD })).json.code,
    ).toBe("invalid_username");
    expect(
      (await c.request("POST", "/api/users", { username: "valid_name", password: "short" })).json
        .code,
    ).toBe("invalid_password");
  });

  it("signs in with a secure session cookie and no token in the body", async () => {
    const { login, username } = await signedIn();
    const cookie = login.headers.getSetCookie().find((l) => l.startsWith("__Host-sid="));
    expect(cookie).toMatch(
      /^__Host-sid=[\w-]{22}\.[\w-]{43}; Path=\/; Max-Age=43200; HttpOnly; Secure; SameSite=Lax$/,
    );
    expect(login.headers.get("cache-control")).toBe("no-store");
    expect(login.json.user.username).toBe(username);
    expect(login.text).not.toContain(cookie?.split(";")[0]?.split("=")[1]);
  });

  it("/me returns the user and the session with ISO times", async () => {
    const { c, login } = await signedIn();
    const me = await c.request("GET", "/api/id/me");
    expect(me.status).toBe(200);
    expect(me.json.session.id).toBe(login.json.session.id);
    expect(me.json.session.strategy).toBe("id");
    expect(new Date(me.json.session.expiresAt).toISOString()).toBe(me.json.session.expiresAt);
  });

  it("gives the same 401 for a wrong password and an unknown user", async () => {
    const { username } = await newUser();
    const c = client(base);
    const wrong = await c.request("POST", "/api/id/login", {
      username,
      password: "wrong password",
    });
    const unknown = await c.request("POST", "/api/id/login", {
      username: "nobody-here",
      password: "wrong password",
    });
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect(wrong.text).toBe(unknown.text);
  });

  it("rate limits failed sign-ins per username with 429 and Retry-After", async () => {
    const { username } = await newUser("limited");
    const c = client(base);
    for (let i = 0; i < 5; i++) {
      expect(
        (await c.request("POST", "/api/id/login", { username, password: "wrong password" })).status,
      ).toBe(401);
    }
    const blocked = await c.request("POST", "/api/id/login", { username, password: PASSWORD });
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(blocked.headers.get("content-type")).toBe("application/problem+json");
  });

  it("lists sessions with exactly one current, revokes another device, 404 for a foreign id", async () => {
    const { c, username, login } = await signedIn();
    const phone = client(base);
    const other = await phone.request(
      "POST",
      "/api/id/login",
      { username, password: PASSWORD },
      { "user-agent": "Phone/1.0" },
    );
    const list = await c.request("GET", "/api/id/sessions");
    expect(list.json.sessions).toHaveLength(2);
    expect(
      list.json.sessions
        .filter((s: { current: boolean }) => s.current)
        .map((s: { id: string }) => s.id),
    ).toEqual([login.json.session.id]);
    const stranger = await signedIn();
    expect(
      (await c.request("DELETE", `/api/id/sessions/${stranger.login.json.session.id}`)).status,
    ).toBe(404);
    expect((await c.request("DELETE", `/api/id/sessions/${other.json.session.id}`)).status).toBe(
      204,
    );
    expect((await phone.request("GET", "/api/id/me")).status).toBe(401);
    expect((await stranger.c.request("GET", "/api/id/me")).status).toBe(200);
  });

  it("revoke-all with exceptCurrent keeps only the caller", async () => {
    const { c, username } = await signedIn();
    const others = [client(base), client(base)];
    for (const o of others)
      await o.request("POST", "/api/id/login", { username, password: PASSWORD });
    const r = await c.request("POST", "/api/id/sessions/revoke-all", { exceptCurrent: true });
    expect(r.json).toEqual({ revoked: 2 });
    expect((await c.request("GET", "/api/id/me")).status).toBe(200);
    for (const o of others) expect((await o.request("GET", "/api/id/me")).status).toBe(401);
  });

  it("logout revokes server-side: the old cookie no longer works anywhere", async () => {
    const { c } = await signedIn();
    const stolen = c.jar.get("__Host-sid");
    const out = await c.request("POST", "/api/id/logout");
    expect(out.status).toBe(204);
    expect(out.headers.getSetCookie().some((l) => l.startsWith("__Host-sid=;"))).toBe(true);
    const replay = await client(base).request("GET", "/api/id/me", undefined, {
      cookie: `__Host-sid=${stolen}`,
    });
    expect(replay.status).toBe(401);
  });

  it("answers every token failure with one identical 401 body", async () => {
    const { c } = await signedIn();
    const revokedToken = c.jar.get("__Host-sid") ?? "";
    await c.request("POST", "/api/id/logout");
    const anon = client(base);
    const attempts: Array<Record<string, string>> = [
      {},
      { cookie: "__Host-sid=garbage" },
      { cookie: `__Host-sid=${"A".repeat(22)}.${"A".repeat(43)}` },
      { cookie: `__Host-sid=${revokedToken}` },
      { cookie: `__Host-sid=${revokedToken}; __host-sid=x` },
    ];
    const bodies = new Set<string>();
    for (const headers of attempts) {
      const r = await anon.request("GET", "/api/id/me", undefined, headers);
      expect(r.status).toBe(401);
      bodies.add(r.text);
    }
    expect(bodies.size).toBe(1);
  });

  it("supports the header transport with RFC 6750 failures", async () => {
    const { username } = await newUser();
    const c = client(base);
    const login = await c.request("POST", "/api/id/login", {
      username,
      password: PASSWORD,
      transport: "header",
    });
    expect(login.status).toBe(200);
    expect(login.headers.getSetCookie()).toEqual([]);
    const token = login.json.accessToken as string;
    const api = client(base, null);
    const me = await api.request("GET", "/api/id/me", undefined, {
      authorization: `Bearer ${token}`,
    });
    expect(me.status).toBe(200);
    const bad = await api.request("GET", "/api/id/me", undefined, { authorization: "Bearer nope" });
    expect(bad.status).toBe(401);
    // Bearer, and DPoP offered beside it (the reference server binds tokens that prove a key).
    expect(bad.headers.get("www-authenticate")).toMatch(
      /^Bearer error="invalid_token", DPoP algs="/,
    );
    const logout = await api.request("POST", "/api/id/logout", undefined, {
      authorization: `Bearer ${token}`,
    });
    expect(logout.status).toBe(204);
    expect(
      (await api.request("GET", "/api/id/me", undefined, { authorization: `Bearer ${token}` }))
        .status,
    ).toBe(401);
  });

  it("refuses cross-site unsafe requests, registration and sign-in included, and accepts the CSRF token", async () => {
    const { c, username } = await signedIn();
    const evil = { origin: "http://evil.example" };
    expect((await c.request("POST", "/api/id/logout", undefined, evil)).status).toBe(403);
    const registerCsrf = await client(base, "http://evil.example").request("POST", "/api/users", {
      username: "csrf-victim",
      password: PASSWORD,
    });
    expect(registerCsrf.status).toBe(403);
    const loginCsrf = await client(base, "http://evil.example").request("POST", "/api/id/login", {
      username,
      password: PASSWORD,
    });
    expect(loginCsrf.status).toBe(403);
    expect(loginCsrf.json.code).toBe("csrf_failed");
    const noOrigin = client(base, null);
    noOrigin.jar.set("__Host-sid", c.jar.get("__Host-sid") ?? "");
    expect((await noOrigin.request("POST", "/api/id/logout")).status).toBe(403);
    const { token } = (await noOrigin.request("GET", "/api/csrf")).json;
    expect(
      (await noOrigin.request("POST", "/api/id/logout", undefined, { "x-csrf-token": token }))
        .status,
    ).toBe(204);
  });

  it("answers bad bodies with 413, 415 and 400, all as problem+json", async () => {
    const c = client(base);
    const big = await c.request("POST", "/api/users", {
      username: "x".repeat(17 * 1024),
      password: PASSWORD,
    });
    expect(big.status).toBe(413);
    const form = await fetch(`${base}/api/users`, {
      method: "POST",
      headers: { origin: base, "content-type": "application/x-www-form-urlencoded" },
      body: "username=a&password=b",
    });
    expect(form.status).toBe(415);
    const broken = await fetch(`${base}/api/users`, {
      method: "POST",
      headers: { origin: base, "content-type": "application/json" },
      body: '{"username": ',
    });
    expect(broken.status).toBe(400);
    expect(broken.headers.get("content-type")).toBe("application/problem+json");
    expect(((await broken.json()) as { code: string }).code).toBe("invalid_json");
  });

  it("serves the demo page with a strict CSP, and the signed-in view lists devices", async () => {
    const anon = await client(base).request("GET", "/");
    expect(anon.status).toBe(200);
    expect(anon.headers.get("content-security-policy")).toContain("script-src 'self'");
    expect(anon.text).toContain('id="login-form"');
    const { c, username } = await signedIn();
    const page = await c.request("GET", "/", undefined, {
      "user-agent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/130.0",
    });
    expect(page.text).toContain(`Signed in as ${username}`);
    expect(page.text).toContain("this device");
  });

  it("answers unknown routes with 404 problem+json", async () => {
    const r = await client(base).request("GET", "/nope");
    expect(r.status).toBe(404);
    expect(r.json.code).toBe("not_found");
  });
});
