import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { createClient } from "redis";
import { describe, expect, it, vi } from "vitest";
import session, {
  type ExpressSessionCompatOptions,
  MemoryStore,
} from "../../../src/adapters/express-session/index.js";
import { createSessionManager } from "../../../src/core/manager.js";
import { memoryStore } from "../../../src/stores/memory/index.js";

import {
  cookieOf,
  json,
  type Route,
  sess,
  signLegacy,
  startApp,
} from "../../helpers/express-session-app.js";
import { watchProcess } from "../../helpers/process.js";

// An adversary's view of the express-session compatibility layer: every test here is an
// attack against a real Express server. The layer stops each of them; the ones that worked
// when this file was written (ids reaching the store unchecked, resurrection after sign-out,
// a lost sign-in cookie, __proto__ records, cookie attribute injection, a rewritten held
// answer, concurrent replays of an old cookie, 403 for untouched cross-site requests) failed
// before the fixes in the same change.

const start = startApp;
const crossSite = { "sec-fetch-site": "cross-site", origin: "https://evil.example" };

/** A route that signs in (`/login?u=`), reports who is signed in (`/me`), and signs out. */
const accountRoutes: Route = (req, res) => {
  const s = sess(req);
  if (req.path === "/login") {
    s.user = { id: String(req.query.u ?? "alice") };
    return res.send("in");
  }
  if (req.path === "/logout") return s.destroy(() => res.send("out"));
  res.json({ user: (s?.user as { id?: string } | undefined)?.id ?? null, id: s?.id ?? null });
};

const me = async (app: Awaited<ReturnType<typeof start>>, cookie: string) =>
  (await json(app("/me", { headers: { cookie } }))) as { user: string | null };

const gate = () => {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { open, opened };
};

/**
 * The account routes beside `/slow`, a request that, once `entered`, waits until `slow` opens
 * (a request in flight while another signs out); with `changesData` it changes the session.
 */
async function withSlowRoute(options: Parameters<typeof start>[0], { changesData = false } = {}) {
  const slow = gate();
  const entered = gate();
  const app = await start(options, async (req, res, next) => {
    if (req.path === "/slow") {
      entered.open();
      await slow.opened;
      if (changesData) sess(req).lastSeen = Date.now();
      return res.send("slow done");
    }
    return accountRoutes(req, res, next);
  });
  return { app, slow, entered };
}

describe("session resurrection: an end-of-request save after a sign-out", () => {
  it("a request in flight during logout does not bring the session back (store backend, resave default)", async () => {
    const store = new MemoryStore();
    const { app, slow, entered } = await withSlowRoute({ store });
    const cookie = cookieOf(await app("/login?u=alice"));
    expect((await me(app, cookie)).user).toBe("alice");
    const inFlight = app("/slow", { headers: { cookie } });
    await entered.opened;
    expect(await (await app("/logout", { method: "POST", headers: { cookie } })).text()).toBe(
      "out",
    );
    expect((await me(app, cookie)).user).toBe(null);
    slow.open();
    await (await inFlight).text();
    // The signed-out cookie (perhaps stolen) must stay dead.
    expect((await me(app, cookie)).user).toBe(null);
  });

  it("a request in flight that changes data does not bring a destroyed session back (resave: false)", async () => {
    const store = new MemoryStore();
    const { app, slow, entered } = await withSlowRoute(
      { store, resave: false },
      { changesData: true },
    );
    const cookie = cookieOf(await app("/login?u=alice"));
    const inFlight = app("/slow", { headers: { cookie } });
    await entered.opened;
    await (await app("/logout", { method: "POST", headers: { cookie } })).text();
    slow.open();
    await (await inFlight).text();
    expect((await me(app, cookie)).user).toBe(null);
  });

  it("the same resurrection on connect-redis 9 over real Redis", async () => {
    const { RedisStore } = await import("connect-redis");
    const client = createClient({ url: "redis://127.0.0.1:6379" });
    await client.connect();
    const prefix = `skattack:${Date.now()}:`;
    try {
      const store = new RedisStore({ client, prefix });
      const { app, slow, entered } = await withSlowRoute({ store });
      const cookie = cookieOf(await app("/login?u=alice"));
      const inFlight = app("/slow", { headers: { cookie } });
      await entered.opened;
      await (await app("/logout", { method: "POST", headers: { cookie } })).text();
      expect((await me(app, cookie)).user).toBe(null);
      slow.open();
      await (await inFlight).text();
      expect((await me(app, cookie)).user).toBe(null);
    } finally {
      const keys = await client.keys(`${prefix}*`);
      if (keys.length) await client.del(keys);
      await client.quit();
    }
  });

  it("a request in flight during logout does not bring the session back (sessionkit store)", async () => {
    const { app, slow, entered } = await withSlowRoute(
      { store: memoryStore() },
      { changesData: true },
    );
    const login = await app("/login?u=alice");
    const cookie = login.headers
      .getSetCookie()
      .map((c) => c.split(";")[0])
      .join("; ");
    expect((await me(app, cookie)).user).toBe("alice");
    const inFlight = app("/slow", { headers: { cookie } });
    await entered.opened;
    await (await app("/logout", { method: "POST", headers: { cookie } })).text();
    slow.open();
    await (await inFlight).text();
    expect((await me(app, cookie)).user).toBe(null);
  });
});

describe("poisoned store records", () => {
  /** Signs in, then rewrites the stored JSON text of the session with `edit`. */
  async function poisoned(edit: (text: string) => string) {
    const store = new MemoryStore();
    const app = await start({ store }, (req, res) => {
      const s = sess(req);
      if (req.path === "/login") {
        s.user = { id: "alice" };
        return res.send("in");
      }
      res.json({
        id: s.id,
        sessionID: (req as unknown as { sessionID: string }).sessionID,
        regenerate: typeof s.regenerate,
        save: typeof s.save,
        user: (s.user as { id?: string } | undefined)?.id ?? null,
        polluted: ({} as Record<string, unknown>).polluted ?? null,
      });
    });
    const cookie = cookieOf(await app("/login"));
    for (const sid of Object.keys(store.sessions)) {
      store.sessions[sid] = edit(store.sessions[sid] as string);
    }
    return { app, cookie, store };
  }

  it("a top-level __proto__ key in a stored record does not replace req.session's methods or id", async () => {
    const { app, cookie } = await poisoned((text) =>
      text.replace(/^\{/, '{"__proto__":{"id":"forged","regenerate":1,"save":1},'),
    );
    const response = await app("/me", { headers: { cookie } });
    expect(response.status).toBe(200);
    const body = await json(response);
    expect(body.user).toBe("alice");
    expect(body.regenerate).toBe("function");
    expect(body.save).toBe("function");
    expect(body.id).toBe(body.sessionID);
  });

  it("a prototype-polluting record does not pollute Object.prototype", async () => {
    const { app, cookie } = await poisoned((text) =>
      text.replace(
        /^\{/,
        '{"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":1}},"prefs":{"__proto__":{"polluted":1}},',
      ),
    );
    const response = await app("/me", { headers: { cookie } });
    expect(response.status).toBeLessThan(500);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    const body = await json(response);
    expect(body.polluted).toBe(null);
  });

  it("garbage from store.get (string, number, array, no hash, wrong-typed hash) is nobody, never 500", async () => {
    const results: unknown[] = [
      "text",
      42,
      [1, 2],
      { user: "x" },
      { sessionkitSecretHash: 5 },
      true,
    ];
    for (const garbage of results) {
      const store = new MemoryStore();
      store.get = (_sid, callback) => callback(null, garbage as never);
      const app = await start({ store }, (req, res) => res.json({ user: sess(req).user ?? null }));
      const cookie = `__Host-sid=abc.${"A".repeat(43)}`;
      const response = await app("/", { headers: { cookie } });
      expect(response.status).toBe(200);
      expect((await json(response)).user).toBe(null);
    }
  });

  it("a store that throws synchronously or calls back twice answers 503 once and the process survives", async () => {
    const stop = watchProcess();
    const throwing = new MemoryStore();
    throwing.get = () => {
      throw new Error("boom");
    };
    const twice = new MemoryStore();
    const realSet = twice.set.bind(twice);
    twice.set = (sid, data, callback) => {
      realSet(sid, data, () => {
        callback?.();
        callback?.(new Error("again"));
      });
    };
    const a = await start({ store: throwing }, (_req, res) => res.send("ok"));
    // An id of the layer's own format, so that the store is asked.
    const response = await a("/", {
      headers: { cookie: `__Host-sid=${"A".repeat(22)}.${"A".repeat(43)}` },
    });
    expect(response.status).toBe(503);
    expect(response.headers.get("content-type")).toBe("application/problem+json");
    const b = await start({ store: twice }, (req, res) => {
      sess(req).n = 1;
      res.send("ok");
    });
    expect((await b()).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(stop()).toEqual([]);
  });
});

describe("what reaches the store: express-session only ever passed it ids it had signed", () => {
  /** The common file store shape (session-file-store and many hand-written ones): one JSON file per id. */
  function fileStore(dir: string) {
    const store = new MemoryStore();
    const file = (sid: string) => join(dir, `${sid}.json`);
    store.get = (sid, callback) => {
      readFile(file(sid), "utf8").then(
        (text) => callback(null, JSON.parse(text)),
        (error: unknown) => callback((error as { code?: string }).code === "ENOENT" ? null : error),
      );
    };
    store.set = (sid, data, callback) => {
      writeFile(file(sid), JSON.stringify(data)).then(() => callback?.(), callback);
    };
    store.destroy = (sid, callback) => {
      rm(file(sid), { force: true }).then(() => callback?.(), callback);
    };
    return store;
  }

  it("an attacker-chosen id cannot make a file store read an uploaded file as a session", async () => {
    const root = await mkdtemp(join(tmpdir(), "sk-attack-"));
    const sessions = join(root, "sessions");
    const uploads = join(root, "uploads");
    await mkdir(sessions);
    await mkdir(uploads);
    const { hashSecret } = await import("../../../src/tokens/opaque.js");
    const secret = "A".repeat(43);
    // An avatar upload the attacker controls, anywhere on disk the app can read.
    await writeFile(
      join(uploads, "avatar.json"),
      JSON.stringify({ sessionkitSecretHash: hashSecret(secret), user: { id: "admin" } }),
    );
    try {
      const app = await start({ store: fileStore(sessions) }, accountRoutes);
      const id = encodeURIComponent("../uploads/avatar");
      expect((await me(app, `__Host-sid=${id}.${secret}`)).user).toBe(null);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it("store.get only sees ids of the layer's own format", async () => {
    const store = new MemoryStore();
    const asked: string[] = [];
    const get = store.get.bind(store);
    store.get = (sid, callback) => {
      asked.push(sid);
      get(sid, callback);
    };
    const app = await start({ store }, accountRoutes);
    for (const id of ["../../etc/passwd", "__proto__", "a\u0000b", "x".repeat(2000), "*"]) {
      await me(app, `__Host-sid=${encodeURIComponent(id)}.${"A".repeat(43)}`);
    }
    expect(asked.filter((sid) => !/^[A-Za-z0-9_-]{22}$/.test(sid))).toEqual([]);
  });
});

describe("the secret hash at rest cannot be set by the app or an attacker", () => {
  it("req.session.sessionkitSecretHash set by a route (even via req.session = body) is overwritten", async () => {
    const store = new MemoryStore();
    // sha256 of 43 'A's, base64url: what an attacker would want stored.
    const { hashSecret } = await import("../../../src/tokens/opaque.js");
    const attackerSecret = "A".repeat(43);
    const attackerHash = hashSecret(attackerSecret);
    const app = await start({ store }, (req, res) => {
      if (req.path === "/assign") {
        (req as unknown as { session: unknown }).session = {
          user: { id: "alice" },
          sessionkitSecretHash: attackerHash,
        };
      } else if (req.path === "/set") {
        sess(req).user = { id: "alice" };
        sess(req).sessionkitSecretHash = attackerHash;
      }
      res.json({ user: (sess(req)?.user as { id?: string } | undefined)?.id ?? null });
    });
    for (const path of ["/set", "/assign"]) {
      const response = await app(path);
      const cookie = cookieOf(response);
      const id = decodeURIComponent(cookie.slice(cookie.indexOf("=") + 1).split(".")[0] as string);
      expect(JSON.parse(store.sessions[id] as string).sessionkitSecretHash).not.toBe(attackerHash);
      const forged = `__Host-sid=${encodeURIComponent(id)}.${attackerSecret}`;
      expect((await json(app("/who", { headers: { cookie: forged } }))).user).toBe(null);
      expect((await json(app("/who", { headers: { cookie } }))).user).toBe("alice");
    }
  });

  it("a stored record's hash never reaches req.session (reload included)", async () => {
    const store = new MemoryStore();
    const app = await start({ store }, (req, res) => {
      const s = sess(req);
      if (req.path === "/login") {
        s.user = { id: "alice" };
        return res.send("in");
      }
      s.reload(() => res.json({ keys: Object.keys(sess(req)) }));
    });
    const cookie = cookieOf(await app("/login"));
    const body = await json(app("/r", { headers: { cookie } }));
    expect(body.keys).not.toContain("sessionkitSecretHash");
  });
});

describe("forged, duplicated and case-variant cookies", () => {
  it("right id with a wrong secret, a case-variant duplicate, or a quoted/encoded variant is nobody", async () => {
    const store = new MemoryStore();
    const app = await start({ store }, accountRoutes);
    const cookie = cookieOf(await app("/login?u=alice"));
    const value = cookie.slice(cookie.indexOf("=") + 1);
    const [id, secret] = [
      value.slice(0, value.lastIndexOf(".")),
      value.slice(value.lastIndexOf(".") + 1),
    ];
    const flipped = (secret[0] === "A" ? "B" : "A") + secret.slice(1);
    const attempts = [
      `__Host-sid=${id}.${flipped}`,
      `__Host-sid=${id}.${secret}x`,
      `__Host-sid=${id}.${secret.slice(1)}`,
      `__Host-sid=${id}`,
      `__Host-sid=${id}.`,
      `__host-sid=${value}`,
      `__Host-sid=${id}.${"A".repeat(43)}; __Host-SID=${value}`,
      `sid=${value}`,
      `__Secure-sid=${value}`,
      `__Host-sid=%E0%A4%A.${secret}`,
      `__Host-sid=${id}.${secret}; __Host-sid=${id}.${flipped}`,
    ];
    for (const attempt of attempts) {
      const response = await app("/me", { headers: { cookie: attempt } });
      expect(response.status, attempt).toBe(200);
      expect((await json(response)).user, attempt).toBe(null);
    }
    expect((await me(app, cookie)).user).toBe("alice");
  });

  it("a cookie-tossed duplicate next to the real cookie makes the request nobody, not the attacker", async () => {
    const store = new MemoryStore();
    const app = await start({ store }, accountRoutes);
    const victim = cookieOf(await app("/login?u=victim"));
    const attacker = cookieOf(await app("/login?u=attacker"));
    for (const header of [`${attacker}; ${victim}`, `${victim}; ${attacker}`]) {
      expect((await me(app, header)).user).toBe(null);
    }
  });

  it("the Set-Cookie is always __Host-, HttpOnly and Secure, whatever the request says", async () => {
    const app = await start({ store: new MemoryStore(), proxy: true }, (req, res) => {
      sess(req).n = 1;
      res.send("ok");
    });
    const response = await app("/", { headers: { "x-forwarded-proto": "http" } });
    const header = response.headers.getSetCookie()[0] ?? "";
    expect(header).toMatch(/^__Host-sid=/);
    expect(header).toMatch(/; HttpOnly/);
    expect(header).toMatch(/; Secure/);
    expect(header).not.toMatch(/Domain=/i);
  });
});

describe("cookie attributes: injection and prefix rules", () => {
  it("cookie attribute injection through priority, path or domain throws at construction", () => {
    // Each is accepted today and sent verbatim in every Set-Cookie (only sameSite is checked).
    expect(() => session({ cookie: { priority: "high; Domain=evil.example" as never } })).toThrow();
    expect(() => session({ cookie: { path: "/; Domain=evil.example" } })).toThrow();
    expect(() => session({ cookie: { domain: "a.example; SameSite=None" } })).toThrow();
  });

  it("a cookie name with separators throws at construction (else it is sent as is)", () => {
    expect(() => session({ name: "sid; Domain=evil.example" })).toThrow();
    expect(() => session({ name: "sid\r\nX-Evil: 1" })).toThrow();
  });

  it("an explicit __Host- name whose cookie breaks the prefix rules throws at construction", () => {
    // Browsers drop such a cookie: nobody could ever sign in.
    expect(() => session({ name: "__Host-sid", cookie: { domain: "a.example" } })).toThrow();
    expect(() => session({ name: "__Host-sid", cookie: { path: "/app" } })).toThrow();
    expect(() => session({ name: "__Host-sid", cookie: { secure: false } })).toThrow();
  });

  it("options of the wrong type throw at construction rather than 500 on every request", () => {
    expect(() => session({ userId: "userId" as never })).toThrow();
    expect(() => session({ resave: "no" as never })).toThrow();
  });

  it("sameSite, httpOnly: false, secure: 'auto', bad origins and timeouts throw at construction", () => {
    expect(() => session({ cookie: { sameSite: "none; x" as never } })).toThrow();
    expect(() => session({ cookie: { httpOnly: false } })).toThrow();
    expect(() => session({ cookie: { secure: "auto" as never } })).toThrow();
    expect(() => session({ origins: ["*"] })).toThrow();
    expect(() => session({ storeTimeout: -1 })).toThrow();
    expect(() => session({ cookie: "x" as never })).toThrow();
    expect(() => session({ unknown: 1 } as never)).toThrow();
  });

  it("a route's req.session.cookie.domain cannot inject attributes or break the __Host- cookie", async () => {
    const app = await start({ store: new MemoryStore() }, (req, res) => {
      // A multi-tenant app deriving the domain from the (attacker-sent) Host header.
      sess(req).cookie.domain = String(req.headers["x-tenant"]);
      sess(req).n = 1;
      res.send("ok");
    });
    const response = await app("/", {
      headers: { "x-tenant": "a.example; SameSite=None; Partitioned" },
    });
    const header = response.headers.getSetCookie()[0] ?? "";
    expect(header).not.toMatch(/SameSite=None/);
    expect(header).not.toMatch(/Domain=/);
  });

  it("a migrated connect.sid whose old cookie had a Domain gets a valid __Host- cookie (no Domain)", async () => {
    const store = new MemoryStore();
    store.set("oldsid", {
      cookie: {
        originalMaxAge: null,
        expires: null,
        path: "/",
        httpOnly: true,
        domain: "example.com",
      },
      user: { id: "alice" },
    });
    const app = await start({ store, secret: "old secret" }, accountRoutes);
    const response = await app("/me", {
      headers: { cookie: `connect.sid=${signLegacy("oldsid", "old secret")}` },
    });
    expect((await json(response)).user).toBe("alice");
    const header = response.headers.getSetCookie().find((c) => c.startsWith("__Host-sid=")) ?? "";
    expect(header).toMatch(/^__Host-sid=/);
    // Browsers reject a __Host- cookie with Domain: the user would be signed out by the move.
    expect(header).not.toMatch(/Domain=/i);
  });
});

describe("CSRF, login CSRF and fixation", () => {
  it("cross-site unsafe requests riding the cookie or connect.sid get 403 problem+json", async () => {
    const store = new MemoryStore();
    store.set("old1", {
      cookie: { originalMaxAge: null, expires: null, path: "/", httpOnly: true },
      user: { id: "alice" },
    });
    const app = await start({ store, secret: "s3" }, accountRoutes);
    const cookie = cookieOf(await app("/login?u=alice"));
    for (const c of [cookie, `connect.sid=${signLegacy("old1", "s3")}`]) {
      for (const method of ["POST", "PUT", "DELETE", "PATCH", "post"]) {
        for (const headers of [
          crossSite,
          { "sec-fetch-site": "same-site" },
          { "sec-fetch-site": "none", origin: "null" },
          { "sec-fetch-site": "Same-Origin" },
        ]) {
          const response = await app("/logout", { method, headers: { ...headers, cookie: c } });
          expect(response.status, `${method} ${JSON.stringify(headers)}`).toBe(403);
          expect(response.headers.get("content-type")).toBe("application/problem+json");
        }
      }
    }
    // The session and the old record are untouched.
    expect((await me(app, cookie)).user).toBe("alice");
    expect(store.sessions.old1).toBeDefined();
  });

  it("a cross-site request cannot start a session (login CSRF), with either body form", async () => {
    const store = new MemoryStore();
    const app = await start({ store }, (req, res) => {
      if (req.path === "/assign") {
        (req as unknown as { session: unknown }).session = { user: { id: "attacker" } };
      } else sess(req).user = { id: "attacker" };
      res.send("in");
    });
    for (const path of ["/login", "/assign"]) {
      const response = await app(path, { method: "POST", headers: crossSite });
      expect(response.status).toBe(403);
      expect(response.headers.getSetCookie()).toEqual([]);
    }
    expect(Object.keys(store.sessions)).toEqual([]);
  });

  it("a cross-site POST to a route that never touches the session gets the route's answer, not 403", async () => {
    // A payment webhook or an OpenID form_post callback: no cookie, session unused.
    const store = new MemoryStore();
    const app = await start({ store }, (_req, res) => res.send("webhook ok"));
    const response = await app("/webhook", { method: "POST", headers: crossSite });
    expect(response.status).toBe(200);
    expect(await response.text()).toBe("webhook ok");
  });

  it("with saveUninitialized: false, cookieless and forged-cookie requests store nothing", async () => {
    const store = new MemoryStore();
    const app = await start({ store, saveUninitialized: false }, (_req, res) => res.send("ok"));
    for (let i = 0; i < 50; i++) {
      const response = await app("/", {
        headers: { cookie: `__Host-sid=x${i}.${"A".repeat(43)}` },
      });
      expect(response.headers.getSetCookie()).toEqual([]);
      await response.text();
    }
    expect(Object.keys(store.sessions)).toEqual([]);
  });

  it("a cross-site POST with a dead cookie (wrong secret) cannot start a session either", async () => {
    const store = new MemoryStore();
    const app = await start({ store }, accountRoutes);
    const cookie = cookieOf(await app("/login?u=alice"));
    const dead = `${cookie.slice(0, -1)}${cookie.endsWith("A") ? "B" : "A"}`;
    const before = Object.keys(store.sessions).length;
    const response = await app("/login?u=attacker", {
      method: "POST",
      headers: { ...crossSite, cookie: dead },
    });
    expect(response.status).toBe(403);
    expect(Object.keys(store.sessions).length).toBe(before);
  });

  /** A site where `/visit` starts an anonymous session and the other paths sign in. */
  async function signInSite(options: ExpressSessionCompatOptions = {}) {
    const store = new MemoryStore();
    const app = await start({ store, ...options }, (req, res) => {
      const s = sess(req);
      if (req.path === "/visit") s.visited = true;
      else if (req.path === "/assign")
        (req as unknown as { session: unknown }).session = { passport: { user: "alice" } };
      else if (req.path === "/save") {
        s.userId = "alice";
        return s.save(() => res.send("saved"));
      } else if (req.path === "/switch") s.user = { id: "mallory" };
      else if (req.path === "/login") s.user = { id: "alice" };
      const data = s ? JSON.stringify(s) : "";
      res.json({ alice: data.includes("alice"), mallory: data.includes("mallory") });
    });
    return app;
  }

  /** Signs in over a pre-existing session; the new cookie must work and the old one be dead. */
  async function signInOver(app: Awaited<ReturnType<typeof start>>, path: string) {
    const fixated = cookieOf(await app("/visit"));
    const login = await app(path, { method: "POST", headers: { cookie: fixated } });
    expect(login.status).toBe(200);
    await login.text();
    const old = await json(app("/who", { headers: { cookie: fixated } }));
    // No fixation: whoever knew the pre-login cookie is not signed in.
    expect(old.alice, path).toBe(false);
    const fresh = login.headers.getSetCookie().find((c) => c.startsWith("__Host-sid=")) ?? "";
    const cookie = fresh.split(";")[0] as string;
    expect(cookie.split(".")[0], path).not.toBe(fixated.split(".")[0]);
    // And the user who signed in is signed in.
    expect((await json(app("/who", { headers: { cookie } }))).alice, path).toBe(true);
  }

  it("signing in with save() moves the session to a new id and sets its cookie", async () => {
    await signInOver(await signInSite(), "/save");
  });

  it("signing in with maxAge set moves the session and sets the new cookie (every way of setting the user)", async () => {
    const app = await signInSite({ cookie: { maxAge: 60_000 } });
    for (const path of ["/login", "/assign", "/save"]) await signInOver(app, path);
  });

  it("signing in over an existing session (default options, no maxAge) sets the new cookie: the login sticks", async () => {
    await signInOver(await signInSite(), "/login");
  });

  it("signing in by assigning req.session (default options) sets the new cookie", async () => {
    await signInOver(await signInSite(), "/assign");
  });

  it("a user switch inside a signed-in session moves it too", async () => {
    const app = await signInSite({ cookie: { maxAge: 60_000 } });
    const a = cookieOf(await app("/login"));
    const b = cookieOf(await app("/switch", { method: "POST", headers: { cookie: a } }));
    expect(b.split(".")[0]).not.toBe(a.split(".")[0]);
    expect((await json(app("/who", { headers: { cookie: a } }))).mallory).toBe(false);
  });

  it("genid cannot fix a session: an attacker-chosen id still gets a random secret", async () => {
    const store = new MemoryStore();
    const app = await start(
      { store, genid: (req) => String(req.headers["x-want-id"] ?? "x") },
      accountRoutes,
    );
    const attacker = cookieOf(await app("/login?u=alice", { headers: { "x-want-id": "chosen" } }));
    expect(attacker).toMatch(/^__Host-sid=chosen\./);
    // Knowing the id is not enough to be the session.
    expect((await me(app, `__Host-sid=chosen.${"A".repeat(43)}`)).user).toBe(null);
  });
});

describe("legacy connect.sid migration abuse", () => {
  it("an old cookie moves once: replaying it after the move is nobody", async () => {
    const store = new MemoryStore();
    store.set("legacy1", {
      cookie: { originalMaxAge: null, expires: null, path: "/", httpOnly: true },
      user: { id: "alice" },
    });
    const app = await start({ store, secret: ["new", "old"] }, accountRoutes);
    const old = `connect.sid=${signLegacy("legacy1", "old")}`;
    const first = await app("/me", { headers: { cookie: old } });
    expect((await json(first)).user).toBe("alice");
    expect(first.headers.getSetCookie().join("\n")).toMatch(/connect\.sid=; Path=\/; Max-Age=0/);
    // Within 10 s the old cookie still finds the moved session (a page's requests sent
    // together with the first); after that it is nobody.
    vi.useFakeTimers({ toFake: ["Date"] });
    try {
      vi.setSystemTime(Date.now() + 10_001);
      expect((await me(app, old)).user).toBe(null);
    } finally {
      vi.useRealTimers();
    }
    // A forged signature or another secret is nobody.
    store.set("legacy2", {
      cookie: { originalMaxAge: null, expires: null, path: "/", httpOnly: true },
      user: { id: "bob" },
    });
    for (const forged of [
      `connect.sid=${signLegacy("legacy2", "guess")}`,
      `connect.sid=s%3Alegacy2`,
      `connect.sid=legacy2`,
      `connect.sid=${signLegacy("legacy2", "old").toLowerCase()}`,
    ]) {
      expect((await me(app, forged)).user, forged).toBe(null);
    }
  });

  it("an old cookie sent by concurrent requests moves once: one session, every request signed in", async () => {
    const store = new MemoryStore();
    store.set("legacy9", {
      cookie: { originalMaxAge: null, expires: null, path: "/", httpOnly: true },
      user: { id: "alice" },
    });
    const app = await start({ store, secret: "old" }, accountRoutes);
    const old = `connect.sid=${signLegacy("legacy9", "old")}`;
    const answers = await Promise.all(
      Array.from({ length: 5 }, () => app("/me", { headers: { cookie: old } })),
    );
    // A page's parallel requests right after the switch all stay signed in, on one session.
    for (const answer of answers) expect((await json(answer)).user).toBe("alice");
    expect(Object.keys(store.sessions)).toHaveLength(1);
    expect(store.sessions.legacy9).toBeUndefined();
  });

  it("the moved session's data cannot smuggle a secret hash for the new id", async () => {
    const store = new MemoryStore();
    const { hashSecret } = await import("../../../src/tokens/opaque.js");
    store.set("legacy3", {
      cookie: { originalMaxAge: null, expires: null, path: "/", httpOnly: true },
      user: { id: "alice" },
      sessionkitSecretHash: hashSecret("A".repeat(43)),
    });
    const app = await start({ store, secret: "old" }, accountRoutes);
    const moved = await app("/me", {
      headers: { cookie: `connect.sid=${signLegacy("legacy3", "old")}` },
    });
    const cookie =
      moved.headers
        .getSetCookie()
        .find((c) => c.startsWith("__Host-sid="))
        ?.split(";")[0] ?? "";
    const id = cookie.slice(cookie.indexOf("=") + 1).split(".")[0];
    expect((await me(app, `__Host-sid=${id}.${"A".repeat(43)}`)).user).toBe(null);
    expect((await me(app, cookie)).user).toBe("alice");
  });
});

describe("holding the response: odd ways to answer never crash or leak", () => {
  it("flushHeaders, writeHead forms, HEAD, 204, 304, redirect and write-after-end all answer", async () => {
    const stop = watchProcess();
    const app = await start({ store: new MemoryStore() }, (req, res) => {
      sess(req).n = 1;
      switch (req.path) {
        case "/flush":
          res.flushHeaders();
          return res.end("flushed");
        case "/array":
          res.writeHead(201, ["x-a", "1", "set-cookie", "app=1"]);
          return res.end("array");
        case "/message":
          res.writeHead(202, "Accepted-ish", { "x-b": "2" });
          return res.end("message");
        case "/204":
          return res.status(204).end();
        case "/304":
          return res.status(304).end();
        case "/redirect":
          return res.redirect("/elsewhere");
        case "/after":
          res.end("first");
          res.write("late");
          res.end("again");
          return;
        default:
          return res.send("ok");
      }
    });
    const expected: Record<string, [number, string]> = {
      "/flush": [200, "flushed"],
      "/array": [201, "array"],
      "/message": [202, "message"],
      "/204": [204, ""],
      "/304": [304, ""],
      "/redirect": [302, ""],
      "/after": [200, "first"],
    };
    for (const [path, [status, body]] of Object.entries(expected)) {
      const response = await app(path, { redirect: "manual" });
      expect(response.status, path).toBe(status);
      if (path !== "/redirect") expect(await response.text(), path).toBe(body);
      else await response.text();
      expect(
        response.headers.getSetCookie().some((c) => c.startsWith("__Host-sid=")),
        path,
      ).toBe(true);
    }
    const head = await app("/", { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(head.headers.getSetCookie().some((c) => c.startsWith("__Host-sid="))).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(stop()).toEqual([]);
  });

  it("a big piped stream arrives whole behind a slow store, and next(err) after a partial write does not crash", async () => {
    const stop = watchProcess();
    const store = new MemoryStore();
    const set = store.set.bind(store);
    store.set = (sid, data, callback) => setTimeout(() => set(sid, data, callback), 100);
    const chunk = Buffer.alloc(64 * 1024, 97);
    const app = await start(
      { store },
      (req, res, next) => {
        sess(req).n = 1;
        if (req.path === "/pipe") {
          let left = 160; // 10 MiB
          return Readable.from(
            (function* () {
              while (left-- > 0) yield chunk;
            })(),
          ).pipe(res);
        }
        if (req.path === "/partial") {
          res.write("part");
          return next(new Error("route failed"));
        }
        throw new Error("route failed before writing");
      },
      (error, _req, res, _next) => {
        if (res.headersSent) return res.destroy();
        res.status(500).json({ error: String(error.message) });
      },
    );
    const piped = await app("/pipe");
    expect((await piped.arrayBuffer()).byteLength).toBe(160 * chunk.length);
    const thrown = await app("/throw");
    expect(thrown.status).toBe(500);
    await thrown.text();
    await app("/partial").then(
      (r) => r.text(),
      () => "cut",
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(stop()).toEqual([]);
  });
});

describe("errors after the answer was given", () => {
  it("a route that answers then throws (Express's final handler) keeps the first answer, no crash", async () => {
    const stop = watchProcess();
    const app = await start({ store: new MemoryStore() }, async (req, res) => {
      sess(req).n = 1;
      res.send("first");
      await Promise.resolve();
      throw new Error("after the answer");
    });
    const response = await app("/");
    expect(response.status).toBe(200);
    expect(await response.text()).toBe("first");
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(stop()).toEqual([]);
  });

  it("a second answer while the first waits on the store cannot rewrite its status or length", async () => {
    // After res.end the layer freezes setHeader, but the queue unfreezes it as soon as the
    // commit starts: a second res.send then rewrites statusCode and Content-Length of the
    // held first answer (500 with the first body, or a length that never arrives: a hang).
    const store = new MemoryStore();
    const set = store.set.bind(store);
    store.set = (sid, data, callback) => setTimeout(() => set(sid, data, callback), 50);
    const app = await start(
      { store },
      async (req, res) => {
        sess(req).n = 1;
        res.send("first");
        await new Promise((resolve) => setTimeout(resolve, 10));
        throw new Error("after the answer");
      },
      (_error, _req, res, _next) => {
        try {
          res.status(500).json({ error: "a longer second answer" });
        } catch {
          // Node's ERR_HTTP_HEADERS_SENT, as without the layer.
        }
      },
    );
    const response = await app("/", { signal: AbortSignal.timeout(3000) });
    expect(response.status).toBe(200);
    expect(await response.text()).toBe("first");
  });
});

describe("writes after the end, once the held end has gone out", () => {
  it("a late res.write (after the held end went out) is dropped, not an uncaught error", async () => {
    const stop = watchProcess();
    const app = await start({ store: new MemoryStore() }, (req, res) => {
      sess(req).n = 1;
      res.end("first");
      setTimeout(() => res.write("late"), 30);
    });
    const response = await app("/");
    expect(await response.text()).toBe("first");
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(stop()).toEqual([]);
  });

  it("a streaming route that keeps writing after a failed save got its 503 does not raise an uncaught error", async () => {
    const stop = watchProcess();
    const store = new MemoryStore();
    store.set = (_sid, _data, callback) => callback?.(new Error("disk full"));
    const app = await start({ store }, (req, res) => {
      sess(req).n = 1;
      res.write("a");
      setTimeout(() => {
        res.write("b");
        res.end("c");
      }, 30);
    });
    const response = await app("/");
    expect(response.status).toBe(503);
    await response.text();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(stop()).toEqual([]);
  });
});

describe("untrusted input never throws or 500s", () => {
  it("malformed cookies, URLs and headers get a normal answer", async () => {
    const app = await start({ store: new MemoryStore(), secret: "old" }, (req, res) => {
      res.json({ id: typeof sess(req)?.id });
    });
    const cookies = [
      "__Host-sid=%",
      "__Host-sid=%ZZ.AAAA",
      `__Host-sid=${"%00".repeat(20)}.${"A".repeat(43)}`,
      `__Host-sid=__proto__.${"A".repeat(43)}`,
      `__Host-sid=constructor.${"A".repeat(43)}`,
      `__Host-sid=${"a".repeat(3000)}.${"A".repeat(43)}`,
      "connect.sid=%",
      "connect.sid=s%3A.",
      "connect.sid=s%3A__proto__.abc",
      "connect.sid=%E0%A4%A",
      "=; ;;; =x; __Host-sid",
      '__Host-sid="";',
    ];
    for (const cookie of cookies) {
      const response = await app("/", { headers: { cookie } });
      expect(response.status, cookie).toBe(200);
      await response.text();
    }
    for (const path of ["/%", "/%E0%A4%A", "//x?y=%", "/?a[__proto__][x]=1"]) {
      const response = await app(path);
      expect(response.status, path).toBeLessThan(500);
      await response.text();
    }
  });
});

describe("sessionkit manager backend attacks", () => {
  it("a cross-site request cannot start a manager session", async () => {
    const manager = createSessionManager({ strategy: "id", store: memoryStore() });
    const app = await start({ manager }, accountRoutes);
    const denied = await app("/login?u=attacker", { method: "POST", headers: crossSite });
    expect(denied.status).toBe(403);
    expect(denied.headers.getSetCookie()).toEqual([]);
  });

  it("signing in over an existing manager session moves it and the new cookie works", async () => {
    const manager = createSessionManager({ strategy: "id", store: memoryStore() });
    const app = await start({ manager }, accountRoutes);
    const jar = (r: Response) =>
      r.headers
        .getSetCookie()
        .filter((c) => !/Max-Age=0/.test(c))
        .map((c) => c.split(";")[0])
        .join("; ");
    const anonymous = jar(await app("/visit", { method: "POST" }));
    expect(anonymous).not.toBe("");
    const login = await app("/login?u=alice", { method: "POST", headers: { cookie: anonymous } });
    const signedIn = jar(login);
    expect(signedIn).not.toBe("");
    expect(signedIn).not.toBe(anonymous);
    expect((await me(app, signedIn)).user).toBe("alice");
    expect((await me(app, anonymous)).user).toBe(null);
  });
});
