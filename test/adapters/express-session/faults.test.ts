import { execFileSync } from "node:child_process";
import { createServer } from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import express from "express";
import { Redis } from "ioredis";
import { createClient } from "redis";
import { describe, expect, it } from "vitest";
import session, {
  MemoryStore,
  Session,
  Store,
} from "../../../src/adapters/express-session/index.js";
import { memoryStore } from "../../../src/stores/memory/index.js";
import { redisStore } from "../../../src/stores/redis/index.js";
import type { SessionStore } from "../../../src/stores/types.js";
import { cookieOf, json, sess, startApp } from "../../helpers/express-session-app.js";
import { watchProcess } from "../../helpers/process.js";
import { tcpProxy } from "../../helpers/proxy.js";

// The crashes and hangs a real express-session app found in the compatibility layer, each
// reproduced against real servers (Express, the memory store, Redis behind a proxy that cuts).

const start = startApp;

/** A sessionkit store whose writes fail, counting how often they are tried. */
function failingWrites(store: SessionStore) {
  const calls = { create: 0, update: 0 };
  const wrapped = new Proxy(store, {
    get(target, name, receiver) {
      if (name === "create" || name === "update") {
        return () => {
          calls[name]++;
          return Promise.reject(new Error("disk full"));
        };
      }
      return Reflect.get(target, name, receiver);
    },
  });
  return { store: wrapped, calls };
}

describe("a failed write at the end of a request", () => {
  it("answers 503 problem+json once, with a sessionkit store, and tries the write once", async () => {
    const { store, calls } = failingWrites(memoryStore());
    const app = await start({ store }, (req, res) => {
      sess(req).cart = ["book"];
      res.send("ok");
    });
    const response = await app();
    expect(response.status).toBe(503);
    expect(response.headers.get("content-type")).toBe("application/problem+json");
    expect((await json(response)).code).toBe("store_unavailable");
    expect(calls.create).toBe(1);
  });

  it("answers 503 once with an express-session store whose set fails", async () => {
    const store = new MemoryStore();
    let sets = 0;
    store.set = (_sid, _data, callback) => {
      sets++;
      callback?.(new Error("disk full"));
    };
    const app = await start({ store }, (req, res) => {
      sess(req).cart = ["book"];
      res.send("ok");
    });
    const response = await app();
    expect(response.status).toBe(503);
    expect(response.headers.getSetCookie()).toEqual([]);
    expect(sets).toBe(1);
  });

  it("answers 503 within storeTimeout when the store never calls back, and keeps serving", async () => {
    const store = new MemoryStore();
    store.set = () => {}; // a store that hangs
    const app = await start({ store, storeTimeout: 300 }, (req, res) => {
      sess(req).cart = ["book"];
      res.send("ok");
    });
    const started = Date.now();
    expect((await app()).status).toBe(503);
    expect(Date.now() - started).toBeLessThan(2000);
    expect((await app()).status).toBe(503);
  });

  it("answers 503 when Redis is cut mid-run, recovers when it is back, and never loops", async () => {
    const proxy = await tcpProxy(6379);
    const store = redisStore({ url: `redis://127.0.0.1:${proxy.port}` });
    try {
      const app = await start({ store }, (req, res) => {
        sess(req).views = ((sess(req).views as number) ?? 0) + 1;
        res.json({ views: sess(req).views });
      });
      const first = await app();
      expect(first.status).toBe(200);
      const cookie = cookieOf(first);
      proxy.cut();
      const during = await app("/", { headers: { cookie } });
      expect(during.status).toBe(503);
      expect(during.headers.get("content-type")).toBe("application/problem+json");
      proxy.restore();
      let after = 0;
      for (let i = 0; i < 50 && after !== 200; i++) {
        after = (await app("/", { headers: { cookie } })).status;
        if (after !== 200) await new Promise((r) => setTimeout(r, 100));
      }
      expect(after).toBe(200);
    } finally {
      proxy.restore();
      await store.close();
      await proxy.close();
    }
  });

  it("answers 503 when moving an old connect.sid fails, without an unhandled rejection", async () => {
    const old = new MemoryStore();
    old.sessions.abc = JSON.stringify({ cookie: { expires: null }, userId: "u1" });
    const { createHmac } = await import("node:crypto");
    const signature = createHmac("sha256", "old secret")
      .update("abc")
      .digest("base64")
      .replace(/=+$/, "");
    const { store } = failingWrites(memoryStore());
    const stop = watchProcess();
    const app = await start({ store, legacy: { secret: "old secret", store: old } }, (_r, res) => {
      res.send("ok");
    });
    const response = await app("/", {
      headers: { cookie: `connect.sid=${encodeURIComponent(`s:abc.${signature}`)}` },
    });
    await new Promise((r) => setTimeout(r, 50));
    expect(stop()).toEqual([]);
    expect(response.status).toBe(503);
    // Not moved, so not lost: the old session is still there for the next try.
    expect(old.sessions.abc).toBeDefined();
  });
});

describe("configuration mistakes throw when the middleware is made", () => {
  it.each([
    [{ legacy: { store: new MemoryStore() } }, /legacy.secret|secret/],
    [{ legacy: { secret: "s" } }, /legacy.store/],
    [{ nmae: "typo" }, /unknown option nmae/],
    [{ cookie: { secure: "auto" } }, /secure "auto"/],
    [{ cookie: { httpOnly: false } }, /httpOnly false/],
    [{ unset: "drop" }, /unset/],
    [{ store: { get() {} } }, /store.set must be a function/],
  ])("refuses %j", (options, message) => {
    expect(() => session(options as never)).toThrow(message);
  });
});

describe("a second res.end or res.send", () => {
  it("throws ERR_HTTP_HEADERS_SENT in the route, as Node and express-session do, and the client gets the first answer", async () => {
    const stop = watchProcess();
    let thrown: unknown = null;
    const app = await start({}, (req, res) => {
      sess(req).seen = true;
      res.send("first");
      try {
        res.send("second");
      } catch (error) {
        thrown = error;
      }
      res.end("third"); // ignored
      res.write("fourth"); // dropped, not an uncaught ERR_STREAM_WRITE_AFTER_END
    });
    const response = await app();
    expect(await response.text()).toBe("first");
    await new Promise((r) => setTimeout(r, 50));
    expect(stop()).toEqual([]);
    expect((thrown as { code?: string } | null)?.code).toBe("ERR_HTTP_HEADERS_SENT");
  });
});

describe("req.session as express-session gives it", () => {
  it("sends the cookie of a new session when the body starts with res.write (both backends)", async () => {
    for (const store of [new MemoryStore(), memoryStore()]) {
      const app = await start({ store }, (req, res) => {
        sess(req).user = "bob";
        res.write("hello, ");
        setTimeout(() => res.end("world"), 20);
      });
      const response = await app();
      expect(await response.text()).toBe("hello, world");
      expect(cookieOf(response)).toMatch(/^__Host-sid=/);
    }
  });

  it("names the session during the first request (sess(req).id, req.sessionID)", async () => {
    const app = await start({}, (req, res) => {
      res.json({
        id: sess(req).id,
        sessionID: (req as unknown as { sessionID: string }).sessionID,
      });
    });
    const { id, sessionID } = await json(app());
    expect(id).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(sessionID).toBe(id);
  });

  it("shows only data and cookie to Object.keys, spread and JSON", async () => {
    const app = await start({}, (req, res) => {
      sess(req).a = 1;
      res.json({
        keys: Object.keys(sess(req)).sort(),
        serialised: JSON.parse(JSON.stringify(sess(req))),
        spread: Object.keys({ ...sess(req) }).sort(),
      });
    });
    const { keys, serialised, spread } = await json(app());
    expect(keys).toEqual(["a", "cookie"]);
    expect(spread).toEqual(["a", "cookie"]);
    expect(Object.keys(serialised as object).sort()).toEqual(["a", "cookie"]);
  });

  it("leaves an existing req.session alone", async () => {
    const app = express();
    app.use((req, _res, next) => {
      (req as { session?: unknown }).session = { mine: true };
      next();
    });
    app.use(session({}));
    app.get("/", (req, res) => res.json(sess(req)));
    const server = createServer(app);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const response = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    server.close();
    expect(await json(response)).toEqual({ mine: true });
    expect(response.headers.getSetCookie()).toEqual([]);
  });

  it("reload() of a session gone from the store is an error, and the data stay", async () => {
    for (const store of [new MemoryStore(), memoryStore()]) {
      const app = await start({ store }, async (req, res) => {
        if (req.method === "POST") {
          sess(req).userId = "u1";
          return void res.send("in");
        }
        // Gone while the request runs (signed out elsewhere, expired, evicted).
        if (store instanceof MemoryStore) store.clear();
        else await store.deleteUser("u1", { reason: "revoked" });
        sess(req).reload((error) => res.json({ error: String(error), after: sess(req).userId }));
      });
      const cookie = cookieOf(await app("/", { method: "POST" }));
      const answer = await app("/", { headers: { cookie } });
      const { error, after } = await json(answer);
      expect(answer.status).toBe(200);
      expect(error).toMatch(/failed to load session/);
      expect(after).toBe("u1");
      // The end-of-request save does not bring back a session revoked meanwhile.
      if (!(store instanceof MemoryStore))
        expect(await store.listUser("u1", Date.now())).toEqual([]);
    }
  });

  it("unset: 'destroy' ends the stored session when the route sets req.session = null", async () => {
    const store = new MemoryStore();
    const app = await start({ store, unset: "destroy" }, (req, res) => {
      if (req.method === "DELETE") (req as { session: unknown }).session = null;
      else sess(req).n = 1;
      res.end();
    });
    const cookie = cookieOf(await app());
    expect(Object.keys(store.sessions)).toHaveLength(1);
    await app("/", { method: "DELETE", headers: { cookie } });
    expect(Object.keys(store.sessions)).toHaveLength(0);
  });

  it("a browser-session cookie without maxAge, and a per-session maxAge (remember me)", async () => {
    const app = await start({ saveUninitialized: false }, (req, res) => {
      sess(req).userId = "u1";
      if (req.query.remember) sess(req).cookie.maxAge = 30 * 86_400_000;
      res.end();
    });
    const plain = (await app()).headers.getSetCookie()[0] ?? "";
    expect(plain).not.toMatch(/Expires|Max-Age/i);
    const remembered = (await app("/?remember=1")).headers.getSetCookie()[0] ?? "";
    const expires = Date.parse(/Expires=([^;]+)/.exec(remembered)?.[1] ?? "");
    expect(expires - Date.now()).toBeGreaterThan(29 * 86_400_000);
  });
});

describe("express-session's companions", () => {
  it("exports Store, MemoryStore and Session, also on the factory", () => {
    expect(new MemoryStore()).toBeInstanceOf(Store);
    expect(typeof Session).toBe("function");
    const fn = session as unknown as Record<string, unknown>;
    expect(fn.Store).toBe(Store);
    expect(fn.MemoryStore).toBe(MemoryStore);
  });

  it("require() of the built module is the factory itself (CommonJS apps)", () => {
    const out = execFileSync(
      process.execPath,
      [
        "-e",
        `const session = require("sessionkit/adapters/express-session");
         console.log(typeof session, typeof session.MemoryStore, typeof session.Store);`,
      ],
      { encoding: "utf8" },
    );
    expect(out.trim()).toBe("function function function");
  });

  it("runs on connect-redis 9 over real Redis (a node-redis client)", async () => {
    const { RedisStore } = await import("connect-redis");
    const client = createClient({ url: "redis://127.0.0.1:6379" });
    await client.connect();
    const prefix = `skcompat9:${Date.now()}:`;
    try {
      const store = new RedisStore({ client, prefix });
      const app = await start({ store }, (req, res) => {
        sess(req).views = ((sess(req).views as number) ?? 0) + 1;
        res.json({ views: sess(req).views });
      });
      const first = await app();
      const cookie = cookieOf(first);
      expect((await json(first)).views).toBe(1);
      expect((await json(app("/", { headers: { cookie } }))).views).toBe(2);
      const keys = await client.keys(`${prefix}*`);
      expect(keys).toHaveLength(1);
      await client.del(keys);
    } finally {
      await client.quit();
    }
  });

  it("runs on connect-redis 6, built the old way from our Store, over real Redis", async () => {
    const require = createRequire(import.meta.url);
    const builtRequire = require("../../../dist/adapters/express-session/index.js");
    const RedisStore = require("connect-redis6")(builtRequire) as new (o: object) => object;
    const client = new Redis(6379, "127.0.0.1");
    try {
      const store = new RedisStore({ client, prefix: `skcompat:${Date.now()}:` });
      const app = await start({ store: store as never }, (req, res) => {
        sess(req).views = ((sess(req).views as number) ?? 0) + 1;
        res.json({ views: sess(req).views });
      });
      const first = await app();
      const cookie = cookieOf(first);
      expect((await json(first)).views).toBe(1);
      expect((await json(app("/", { headers: { cookie } }))).views).toBe(2);
      const keys = await client.keys("skcompat:*");
      expect(keys.length).toBeGreaterThan(0);
      // At rest: the hash of the cookie's secret, never the secret itself.
      const secret = cookie.split(".").pop() ?? "";
      for (const key of keys) expect(await client.get(key)).not.toContain(secret);
      await client.del(...keys);
    } finally {
      client.disconnect();
    }
  });
});
