import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { SessionError } from "../../src/errors.js";
import { createSessionManager, isSessionError } from "../../src/index.js";
import { type AppOptions, createApp } from "../../src/server/app.js";
import { resolveServerConfig } from "../../src/server/config.js";
import { clientAddress } from "../../src/server/http.js";
import { passwordHasher } from "../../src/server/passwords.js";
import { failureLimiter } from "../../src/server/rate-limit.js";
import { sqliteUsers } from "../../src/server/users-sqlite.js";
import { sqliteStore } from "../../src/stores/sqlite/index.js";
import { tempDir } from "../helpers/tmp.js";

// The limits of the reference server in process, on a real SQLite file, with limits small
// enough to reach; each request comes from the client address a test gives it.
const dir = tempDir();
const store = sqliteStore({ path: join(dir, "db.sqlite") });
const users = sqliteUsers(join(dir, "db.sqlite"));
const manager = createSessionManager({
  strategy: "id",
  store,
  cleanup: false,
  csrf: { origins: ["http://app.test"] },
});
afterAll(async () => {
  manager.close();
  await store.close();
  users.close();
});
const PASSWORD = "correct horse battery";
let serial = 0;
const unique = (name: string) => `${name}${++serial}`;

const appWith = (options: Partial<AppOptions> = {}) => {
  const app = createApp({ managers: { id: manager }, store, users, scryptLog2N: 10, ...options });
  return (path: string, body: unknown, address = "192.0.2.1", headers = {}) =>
    app.request(
      `http://app.test${path}`,
      {
        method: "POST",
        headers: { "content-type": "application/json", origin: "http://app.test", ...headers },
        body: JSON.stringify(body),
      },
      { incoming: { socket: { remoteAddress: address } } } as never,
    );
};

describe("registration limits", () => {
  it("counts sign-ups per address, taken names included, and answers 429 with Retry-After", async () => {
    const post = appWith({ registrationLimits: { perAddress: 3, global: 100, windowMs: 60_000 } });
    const name = unique("reg");
    expect((await post("/api/users", { username: name, password: PASSWORD })).status).toBe(201);
    expect((await post("/api/users", { username: name, password: PASSWORD })).status).toBe(409);
    expect((await post("/api/users", { username: unique("reg"), password: PASSWORD })).status).toBe(
      201,
    );
    const blocked = await post("/api/users", { username: unique("reg"), password: PASSWORD });
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(blocked.headers.get("content-type")).toBe("application/problem+json");
    const other = await post(
      "/api/users",
      { username: unique("reg"), password: PASSWORD },
      "192.0.2.2",
    );
    expect(other.status).toBe(201);
  });

  it("counts sign-ups from every address together against the global limit", async () => {
    const post = appWith({ registrationLimits: { perAddress: 100, global: 3, windowMs: 60_000 } });
    for (let i = 0; i < 3; i++) {
      const r = await post(
        "/api/users",
        { username: unique("glob"), password: PASSWORD },
        `198.51.100.${i}`,
      );
      expect(r.status).toBe(201);
    }
    const blocked = await post(
      "/api/users",
      { username: unique("glob"), password: PASSWORD },
      "198.51.100.99",
    );
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers.get("retry-after"))).toBeGreaterThan(0);
  });

  it("counts only accounts created against the global limit: taken names cannot close registration", async () => {
    const post = appWith({ registrationLimits: { perAddress: 100, global: 2, windowMs: 60_000 } });
    const name = unique("taken");
    expect((await post("/api/users", { username: name, password: PASSWORD })).status).toBe(201);
    for (let i = 0; i < 5; i++)
      expect(
        (await post("/api/users", { username: name, password: PASSWORD }, `203.0.113.${i}`)).status,
      ).toBe(409);
    expect(
      (await post("/api/users", { username: unique("taken"), password: PASSWORD }, "192.0.2.77"))
        .status,
    ).toBe(201);
    expect(
      (await post("/api/users", { username: unique("taken"), password: PASSWORD }, "192.0.2.78"))
        .status,
    ).toBe(429);
  });

  it("does not count a request refused as invalid", async () => {
    const post = appWith({ registrationLimits: { perAddress: 1, global: 100, windowMs: 60_000 } });
    for (const body of [
      { username: "a", password: PASSWORD },
      { username: "valid-name", password: "\ud800short-but-long" },
    ])
      expect((await post("/api/users", body, "192.0.2.50")).status).toBe(400);
    expect(
      (await post("/api/users", { username: unique("inv"), password: PASSWORD }, "192.0.2.50"))
        .status,
    ).toBe(201);
  });
});

describe("sign-in limits", () => {
  it("a successful sign-in gives its attempt back to the address: a busy office is not locked out", async () => {
    const post = appWith({ loginLimits: { perUser: 5, perAddress: 3, windowMs: 60_000 } });
    const name = unique("office");
    expect(
      (await post("/api/users", { username: name, password: PASSWORD }, "192.0.2.60")).status,
    ).toBe(201);
    for (let i = 0; i < 6; i++)
      expect(
        (await post("/api/id/login", { username: name, password: PASSWORD }, "192.0.2.60")).status,
      ).toBe(200);
    for (let i = 0; i < 3; i++)
      expect(
        (
          await post(
            "/api/id/login",
            { username: unique("x"), password: "wrong password" },
            "192.0.2.60",
          )
        ).status,
      ).toBe(401);
    expect(
      (await post("/api/id/login", { username: name, password: PASSWORD }, "192.0.2.60")).status,
    ).toBe(429);
  });

  it("a parallel burst of wrong passwords gets no more checks than a sequence: five in all, then 429 even for the right password", async () => {
    const post = appWith({ scryptLog2N: 12 });
    const name = unique("burst");
    expect(
      (await post("/api/users", { username: name, password: PASSWORD }, "192.0.2.70")).status,
    ).toBe(201);
    const login = (password: string) =>
      post("/api/id/login", { username: name, password }, "192.0.2.70");
    const burst = await Promise.all(Array.from({ length: 40 }, () => login("wrong password")));
    const checked = burst.filter((r) => r.status === 401).length;
    expect(checked).toBeLessThanOrEqual(5);
    for (const r of burst.filter((a) => a.status !== 401)) {
      expect([429, 503]).toContain(r.status);
      expect(Number(r.headers.get("retry-after"))).toBeGreaterThan(0);
    }
    let more = 0;
    while (more < 10 && (await login("wrong password")).status === 401) more++;
    expect(checked + more).toBe(5);
    expect((await login(PASSWORD)).status).toBe(429);
  });

  it("a name that is no one's username is refused with 401 and counts against the account it imitates", async () => {
    const post = appWith({ loginLimits: { perUser: 2, perAddress: 100, windowMs: 60_000 } });
    const name = unique("lookalike");
    expect((await post("/api/users", { username: name, password: PASSWORD })).status).toBe(201);
    const spelled = `${name.replace("i", "\u0130")}`; // "İ": dotted capital I
    expect(spelled).not.toBe(name);
    expect((await post("/api/id/login", { username: spelled, password: PASSWORD })).status).toBe(
      401,
    );
    expect(
      (await post("/api/id/login", { username: name.toUpperCase(), password: "wrong password" }))
        .status,
    ).toBe(401);
    expect((await post("/api/id/login", { username: name, password: PASSWORD })).status).toBe(429);
  });
});

describe("password hashing gate", () => {
  it("runs at most `concurrency` hashes at once and turns away callers past the queue", async () => {
    const hasher = passwordHasher(12, { concurrency: 2, queue: 3 });
    const results = await Promise.all(Array.from({ length: 8 }, () => hasher.hash(PASSWORD)));
    expect(results.filter((r) => r === null)).toHaveLength(3);
    const hashes = results.filter((r): r is string => r !== null);
    expect(hashes).toHaveLength(5);
    expect(await hasher.verify(PASSWORD, hashes[0] ?? "")).toBe(true);
    expect(await hasher.verify("wrong password", hashes[0] ?? "")).toBe(false);
  });

  it("holds at most one running and one waiting hash per client; others still get their turn", async () => {
    const hasher = passwordHasher(12, { concurrency: 2, queue: 8 });
    const flood = Array.from({ length: 8 }, () => hasher.hash(PASSWORD, ["a:192.0.2.9"]));
    const other = hasher.hash(PASSWORD, ["a:192.0.2.10"]);
    const results = await Promise.all(flood);
    expect(results.filter((r) => r !== null)).toHaveLength(2);
    expect(await other).not.toBeNull();
    // The same account from two addresses shares one share too.
    const account = await Promise.all(
      ["a:1", "a:2", "a:3"].map((a) => hasher.hash(PASSWORD, [a, "u:kim"])),
    );
    expect(account.filter((r) => r !== null)).toHaveLength(2);
  });

  it("one address flooding correct sign-ins to its own account cannot keep another address from signing in or up", async () => {
    const post = appWith({ scryptLog2N: 14 });
    // The attacker's own accounts, so that no per-account limit slows the flood.
    const attackers = Array.from({ length: 6 }, () => unique("mallory"));
    const alice = unique("alice");
    for (const attacker of attackers)
      expect(
        (await post("/api/users", { username: attacker, password: PASSWORD }, "192.0.2.100"))
          .status,
      ).toBe(201);
    expect(
      (await post("/api/users", { username: alice, password: PASSWORD }, "192.0.2.101")).status,
    ).toBe(201);
    let flooding = true;
    const seen: number[] = [];
    const loop = async (_: unknown, i: number) => {
      while (flooding) {
        const r = await post(
          "/api/id/login",
          { username: attackers[i % attackers.length], password: PASSWORD },
          "192.0.2.100",
        );
        seen.push(r.status);
        await new Promise((resolve) => setImmediate(resolve));
      }
    };
    const loops = Array.from({ length: 12 }, loop);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const answers: number[] = [];
    for (let i = 0; i < 5; i++) {
      answers.push(
        (await post("/api/id/login", { username: alice, password: PASSWORD }, "192.0.2.101"))
          .status,
      );
    }
    const signUp = await post(
      "/api/users",
      { username: unique("newcomer"), password: PASSWORD },
      "192.0.2.102",
    );
    flooding = false;
    await Promise.all(loops);
    expect(seen).toContain(200); // the flood really ran
    expect(answers).toEqual([200, 200, 200, 200, 200]);
    expect(signUp.status).toBe(201);
  });

  it("answers 503 busy with Retry-After when the gate is full", async () => {
    const post = appWith({
      scryptLog2N: 14,
      passwordHashing: { concurrency: 1, queue: 0 },
      loginLimits: { perUser: 100, perAddress: 100, windowMs: 60_000 },
    });
    const answers = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        post("/api/id/login", { username: `gate${i}`, password: "wrong password" }),
      ),
    );
    const [busy] = answers.filter((r) => r.status === 503);
    if (!busy) throw new Error(`no 503 among ${answers.map((r) => r.status)}`);
    expect(busy.headers.get("retry-after")).toBe("1");
    expect(((await busy.json()) as { code: string }).code).toBe("busy");
  });
});

describe("client address", () => {
  const address = (trust: Parameters<typeof clientAddress>[0], peer: string, xff?: string) =>
    clientAddress(trust)({
      env: { incoming: { socket: { remoteAddress: peer } } },
      req: { header: () => xff },
    } as never);

  it("ignores X-Forwarded-For when no proxy is trusted (the default)", () => {
    expect(address(undefined, "192.0.2.1", "203.0.113.5")).toBe("192.0.2.1");
    expect(address(0, "::ffff:192.0.2.1", "203.0.113.5")).toBe("192.0.2.1");
  });

  it("with a count of proxies, takes the entry the outermost trusted proxy appended", () => {
    expect(address(1, "10.0.0.1", "203.0.113.5")).toBe("203.0.113.5");
    expect(address(1, "10.0.0.1", "6.6.6.6, 203.0.113.5")).toBe("203.0.113.5");
    expect(address(2, "10.0.0.1", "6.6.6.6, 203.0.113.5, 10.0.0.2")).toBe("203.0.113.5");
    expect(address(2, "10.0.0.1", "203.0.113.5")).toBe("203.0.113.5");
    expect(address(1, "10.0.0.1")).toBe("10.0.0.1");
  });

  it("with proxy addresses, walks left past trusted proxies only", () => {
    const proxies = ["10.0.0.0/8", "2001:db8::1"];
    expect(address(proxies, "10.1.2.3", "6.6.6.6, 203.0.113.5, 10.9.9.9")).toBe("203.0.113.5");
    expect(address(proxies, "2001:db8::1", "203.0.113.5")).toBe("203.0.113.5");
    // Not from a trusted proxy: the header is the client's own word.
    expect(address(proxies, "198.51.100.7", "203.0.113.5")).toBe("198.51.100.7");
  });

  it("strips a port a trusted proxy appended, and keys an unparsable entry by itself, not by the proxy", () => {
    expect(address(1, "10.0.0.1", "203.0.113.5:41234")).toBe("203.0.113.5");
    expect(address(["10.0.0.0/8"], "10.0.0.1", "[2001:db8::5]:443")).toBe("2001:db8::5");
    expect(address(["10.0.0.0/8"], "10.0.0.1", "6.6.6.6, 203.0.113.5:80, 10.0.0.2:9000")).toBe(
      "203.0.113.5",
    );
    expect(address(1, "10.0.0.1", "client-x")).toBe("client-x");
  });

  it("behind a proxy that appends ports, each client has its own failure counter", async () => {
    const post = appWith({
      trustProxy: ["10.0.0.0/8"],
      loginLimits: { perUser: 100, perAddress: 3, windowMs: 60_000 },
    });
    const from = (client: string) =>
      post("/api/id/login", { username: unique("port"), password: "wrong password" }, "10.0.0.1", {
        "x-forwarded-for": client,
      });
    for (let i = 0; i < 3; i++) expect((await from(`203.0.113.20:${5000 + i}`)).status).toBe(401);
    expect((await from("203.0.113.20:6000")).status).toBe(429);
    expect((await from("203.0.113.21:5000")).status).toBe(401);
  });

  it("is configured by --trust-proxy or SESSIONKIT_TRUST_PROXY, off by default, and refuses nonsense", () => {
    expect(resolveServerConfig({}, {}).trustProxy).toBe(0);
    expect(resolveServerConfig({ "trust-proxy": "2" }, {}).trustProxy).toBe(2);
    expect(
      resolveServerConfig({}, { SESSIONKIT_TRUST_PROXY: "10.0.0.0/8, ::1" }).trustProxy,
    ).toEqual(["10.0.0.0/8", "::1"]);
    for (const bad of ["true", "10.0.0.0/33", "proxy.local"])
      expect(() => resolveServerConfig({ "trust-proxy": bad }, {})).toThrow(SessionError);
    expect(() => appWith({ trustProxy: ["nonsense"] })).toThrow(
      expect.objectContaining({ code: "CONFIG_INVALID" }),
    );
    try {
      appWith({ passwordHashing: { concurrency: 0, queue: 1 } });
      expect.unreachable();
    } catch (error) {
      expect(isSessionError(error, "CONFIG_INVALID")).toBe(true);
    }
  });
});

describe("failure limiter memory bound", () => {
  it("filling the map does not unlock a locked account", () => {
    const limiter = failureLimiter({ max: 5, windowMs: 60_000, maxKeys: 100 });
    for (let i = 0; i < 5; i++) limiter.fail("u:alice", 1000);
    expect(limiter.retryAfter("u:alice", 1000)).toBeGreaterThan(0);
    for (let i = 0; i < 1000; i++) {
      if (limiter.retryAfter(`u:junk${i}`, 1001) === 0) limiter.fail(`u:junk${i}`, 1001);
    }
    expect(limiter.retryAfter("u:alice", 1002)).toBeGreaterThan(0);
  });

  it("refuses new keys (fails closed) when every key held is locked, and frees them as windows end", () => {
    const limiter = failureLimiter({ max: 1, windowMs: 60_000, maxKeys: 3 });
    for (const key of ["a", "b", "c"]) limiter.fail(key, 0);
    expect(limiter.retryAfter("d", 10)).toBeGreaterThan(0);
    expect(limiter.retryAfter("d", 60_000)).toBe(0);
  });

  it("costs O(1) amortised per new key once full", () => {
    const limiter = failureLimiter({ max: 5, windowMs: 60_000, maxKeys: 10_000 });
    const started = performance.now();
    for (let i = 0; i < 40_000; i++) {
      const key = `u:k${i}`;
      if (limiter.retryAfter(key, i) === 0) limiter.fail(key, i);
    }
    expect(performance.now() - started).toBeLessThan(1000);
  });
});
