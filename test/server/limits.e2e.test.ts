import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dropPostgresTables, POSTGRES_URL } from "../helpers/backends.js";
import { client, type ServerProcess, startServerProcess } from "../helpers/server.js";
import { serviceAvailable } from "../helpers/services.js";
import { tempDir } from "../helpers/tmp.js";

// The sign-in and registration limits of the reference server, as a real process over HTTP,
// with its default limits (5 failures per user, 50 per address, 30 sign-ups per address).
const PASSWORD = "correct horse battery";
const WRONG = "wrong password";

/** A server in a fresh folder; `slow` raises scrypt so that parallel requests overlap. */
function serverFor(args: string[] = [], env: Record<string, string> = {}, slow = false) {
  let server: ServerProcess;
  beforeAll(async () => {
    server = await startServerProcess(tempDir(), args, {
      ...(slow ? { SESSIONKIT_SCRYPT_LOG2N: "14" } : {}),
      ...env,
    });
  });
  afterAll(async () => {
    expect(await server.stop()).toBe(0);
  });
  return () => server.url;
}

const statuses = (responses: Array<{ status: number }>) => {
  const count: Record<number, number> = {};
  for (const r of responses) count[r.status] = (count[r.status] ?? 0) + 1;
  return count;
};

async function register(base: string, username: string, headers: Record<string, string> = {}) {
  const r = await client(base).request(
    "POST",
    "/api/users",
    { username, password: PASSWORD },
    headers,
  );
  expect(r.status, r.text).toBe(201);
}

describe("sign-in limit under a parallel burst", () => {
  const url = serverFor([], {}, true);

  it("40 parallel wrong passwords: at most 5 are checked (401), the rest 429 or 503 (one client's share of the hashing gate), and five checks in all before the right password is refused", async () => {
    const base = url();
    await register(base, "burst");
    const login = (password: string) =>
      client(base).request("POST", "/api/id/login", { username: "burst", password });
    const answers = await Promise.all(Array.from({ length: 40 }, () => login(WRONG)));
    const count = statuses(answers);
    expect(count[401] ?? 0).toBeLessThanOrEqual(5);
    expect((count[401] ?? 0) + (count[429] ?? 0) + (count[503] ?? 0)).toBe(40);
    // A 503 was never checked and gives its attempt back: the burst and a sequence after it
    // get five checks together.
    let more = 0;
    while (more < 10 && (await login(WRONG)).status === 401) more++;
    expect((count[401] ?? 0) + more).toBe(5);
    const right = await login(PASSWORD);
    expect(right.status).toBe(429);
    expect(Number(right.headers.get("retry-after"))).toBeGreaterThan(0);
  });
});

describe("registration and password hashing under a flood", () => {
  const url = serverFor([], {}, true);

  it("32 parallel sign-ups from one address: at most 30 accounts, the rest 429 or 503 with Retry-After; sign-in still answers promptly", async () => {
    const base = url();
    const answers = await Promise.all(
      Array.from({ length: 32 }, (_, i) =>
        client(base).request("POST", "/api/users", { username: `flood${i}`, password: PASSWORD }),
      ),
    );
    const count = statuses(answers);
    expect(Object.keys(count).map(Number).sort()).toEqual(
      Object.keys(count)
        .map(Number)
        .filter((s) => [201, 429, 503].includes(s))
        .sort(),
    );
    expect(count[201] ?? 0).toBeLessThanOrEqual(30);
    expect(count[201] ?? 0).toBeGreaterThan(0);
    for (const r of answers.filter((a) => a.status !== 201)) {
      expect(Number(r.headers.get("retry-after"))).toBeGreaterThan(0);
      expect(r.headers.get("content-type")).toBe("application/problem+json");
    }
    const username = `flood${answers.findIndex((a) => a.status === 201)}`;
    const started = Date.now();
    const signIn = await client(base).request("POST", "/api/id/login", {
      username,
      password: PASSWORD,
    });
    expect(signIn.status).toBe(200);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it("a flood of parallel password checks gets 503 with Retry-After instead of an unbounded queue", async () => {
    const base = url();
    const answers = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        client(base).request("POST", "/api/id/login", { username: `nobody${i}`, password: WRONG }),
      ),
    );
    const busy = answers.filter((a) => a.status === 503);
    expect(busy.length).toBeGreaterThan(0);
    for (const r of busy) {
      expect(Number(r.headers.get("retry-after"))).toBeGreaterThan(0);
      expect(r.headers.get("content-type")).toBe("application/problem+json");
      expect(r.json.code).toBe("busy");
    }
    expect(answers.every((a) => a.status === 401 || a.status === 503)).toBe(true);
    await register(base, "afterflood");
    const started = Date.now();
    const signIn = await client(base).request("POST", "/api/id/login", {
      username: "afterflood",
      password: PASSWORD,
    });
    expect(signIn.status).toBe(200);
    expect(Date.now() - started).toBeLessThan(2000);
  });
});

/** Fails `count` sign-ins from one client (each username at most 5 times, under its limit). */
async function failFrom(base: string, count: number, headers: Record<string, string>) {
  for (let i = 0; i < count; i++) {
    const r = await client(base).request(
      "POST",
      "/api/id/login",
      { username: `guess${Math.floor(i / 5)}`, password: WRONG },
      headers,
    );
    expect(r.status).toBe(401);
  }
}

describe("client address without a trusted proxy (default)", () => {
  const url = serverFor();

  it("ignores X-Forwarded-For: forged addresses share the socket's counter", async () => {
    const base = url();
    for (let i = 0; i < 50; i++) {
      const r = await client(base).request(
        "POST",
        "/api/id/login",
        { username: `guess${Math.floor(i / 5)}`, password: WRONG },
        { "x-forwarded-for": `198.51.100.${i}` },
      );
      expect(r.status).toBe(401);
    }
    const blocked = await client(base).request(
      "POST",
      "/api/id/login",
      { username: "someone-else", password: WRONG },
      { "x-forwarded-for": "198.51.100.200" },
    );
    expect(blocked.status).toBe(429);
  });
});

describe("client address behind one trusted proxy (--trust-proxy 1)", () => {
  const url = serverFor(["--trust-proxy", "1"]);

  it("counts each forwarded client on its own, from the proxy's entry, not the client-chosen leftmost", async () => {
    const base = url();
    await failFrom(base, 50, { "x-forwarded-for": "203.0.113.7" });
    const attempt = (xff: string) =>
      client(base).request(
        "POST",
        "/api/id/login",
        { username: "fresh-name", password: WRONG },
        { "x-forwarded-for": xff },
      );
    expect((await attempt("203.0.113.7")).status).toBe(429);
    // The proxy appends what it saw; what the client wrote before that is not believed.
    expect((await attempt("203.0.113.8, 203.0.113.7")).status).toBe(429);
    expect((await attempt("203.0.113.8")).status).toBe(401);
    // A session records the forwarded client as its address.
    await register(base, "proxied", { "x-forwarded-for": "203.0.113.9" });
    const c = client(base);
    const headers = { "x-forwarded-for": "203.0.113.9" };
    expect(
      (
        await c.request(
          "POST",
          "/api/id/login",
          { username: "proxied", password: PASSWORD },
          headers,
        )
      ).status,
    ).toBe(200);
    const list = await c.request("GET", "/api/id/sessions", undefined, headers);
    expect(list.json.sessions[0].ip).toBe("203.0.113.9");
  });
});

const pgUp = await serviceAvailable("PostgreSQL", 5432);

describe.skipIf(!pgUp)("users in PostgreSQL", () => {
  const prefix = `sk_limits_${randomBytes(4).toString("hex")}_`;
  const url = serverFor(["--database", POSTGRES_URL, "--store", "memory"], {
    SESSIONKIT_TABLE_PREFIX: prefix,
  });
  afterAll(() => dropPostgresTables(prefix));

  const login = (username: string, password: string) =>
    client(url()).request("POST", "/api/id/login", { username, password });

  it("a Unicode look-alike of a locked username cannot sign in", async () => {
    await register(url(), "alice");
    for (let i = 0; i < 5; i++) expect((await login("alice", WRONG)).status).toBe(401);
    expect((await login("alice", PASSWORD)).status).toBe(429);
    // Turkish dotted capital I: PostgreSQL's lower() makes it "alice".
    const lookAlike = await login("al\u0130ce", PASSWORD);
    expect(lookAlike.status).not.toBe(200);
    expect([401, 429]).toContain(lookAlike.status);
  });

  it("failures under a look-alike spelling count against the account", async () => {
    await register(url(), "kim");
    for (let i = 0; i < 5; i++) expect((await login("k\u0130m", WRONG)).status).toBe(401);
    expect((await login("kim", PASSWORD)).status).toBe(429);
  });

  it("NUL bytes and lone surrogates in request text answer 400 or 401, never 5xx", async () => {
    const base = url();
    await register(base, "nul-check");
    const names = ["a\u0000b", "nul-check\u0000", "\ud800abc", "abc\udfff", "\u0000"];
    for (const username of names) {
      const signIn = await login(username, PASSWORD);
      expect([400, 401], `login ${JSON.stringify(username)}`).toContain(signIn.status);
      const signUp = await client(base).request("POST", "/api/users", {
        username,
        password: PASSWORD,
      });
      expect(signUp.status, `register ${JSON.stringify(username)}`).toBe(400);
    }
    // A NUL is a character like any other in a password; a lone surrogate has no UTF-8 form.
    const nulPassword = await client(base).request("POST", "/api/users", {
      username: "nul-password",
      password: "pass\u0000word",
    });
    expect(nulPassword.status).toBe(201);
    expect((await login("nul-password", "pass\u0000word")).status).toBe(200);
    for (const password of ["\ud800\ud800\ud800\ud800", "password\udfff"]) {
      expect((await login("nul-check", password)).status).toBe(401);
      const signUp = await client(base).request("POST", "/api/users", {
        username: "surrogate-password",
        password,
      });
      expect(signUp.status, `register with ${JSON.stringify(password)}`).toBe(400);
    }
    const c = client(base);
    expect(
      (await c.request("POST", "/api/id/login", { username: "nul-check", password: PASSWORD }))
        .status,
    ).toBe(200);
    expect((await c.request("DELETE", "/api/id/sessions/%00")).status).toBe(404);
    expect((await c.request("DELETE", "/api/id/sessions/%ED%A0%80")).status).toBe(404);
    const refresh = await client(base).request("POST", "/api/hybrid/refresh", {
      refreshToken: "a\u0000b.\ud800",
    });
    expect(refresh.status).toBe(401);
  });
});
