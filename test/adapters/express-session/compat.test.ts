import { createServer, type RequestListener, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, describe, expect, it, vi } from "vitest";
import session, { type LegacyStore } from "../../../src/adapters/express-session/index.js";
import { createSessionManager } from "../../../src/core/manager.js";
import { memoryStore } from "../../../src/stores/memory/index.js";

// The same express-session-style app, first on express-session itself, then on the
// compatibility layer, which must keep the users express-session signed in.
const ORIGIN = "https://app.example";
const OLD_SECRET = "keyboard cat, the old secret";
type AppFactory = { createApp(session: unknown, options: unknown): RequestListener };
const { createApp } = (await import(
  new URL("../../fixtures/express-session-app.js", import.meta.url).href
)) as AppFactory;
// Loaded by name: its types would clash with sessionkit's own `req.session` declaration.
const expressSessionName = "express-session";
const expressSession = (await import(expressSessionName)).default as {
  (options: unknown): unknown;
  MemoryStore: new () => LegacyStore;
};

const servers: Server[] = [];
afterAll(() => {
  for (const s of servers) s.close();
});

async function start(listener: RequestListener) {
  const server = createServer(listener);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return (
    method: string,
    path: string,
    cookie?: string,
    body?: unknown,
    origin: string | null = ORIGIN,
    headers: Record<string, string> = {},
  ) =>
    fetch(base + path, {
      method,
      headers: {
        ...headers,
        ...(cookie ? { cookie } : {}),
        ...(method === "GET" || origin === null ? {} : { origin }),
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
}

/** A JSON body, loosely typed: each assertion checks the fields it needs. */
const body = async (response: Response | Promise<Response>) =>
  (await (await response).json()) as Record<string, unknown>;

const cookieNamed = (r: Response, name: string) =>
  r.headers
    .getSetCookie()
    .map((c) => c.split(";")[0] ?? "")
    .find((c) => c.startsWith(`${name}=`));

describe("express-session compatibility layer", () => {
  const legacyStore = new expressSession.MemoryStore();

  it("keeps a user signed in by express-session signed in after the switch", async () => {
    const old = await start(
      createApp(expressSession, {
        secret: OLD_SECRET,
        store: legacyStore,
        resave: false,
        saveUninitialized: false,
      }),
    );
    const login = await old("POST", "/login", undefined, { password: "wonderland" });
    expect(login.status).toBe(200);
    const sid = cookieNamed(login, "connect.sid");
    expect(sid).toBeDefined();
    expect((await body(old("POST", "/views", sid))).views).toBe(1);

    const next = await start(
      createApp(session, {
        store: memoryStore(),
        origins: [ORIGIN],
        legacy: { secret: ["a newer secret", OLD_SECRET], store: legacyStore },
      }),
    );
    const me = await next("GET", "/me", sid);
    expect(me.status).toBe(200);
    expect(await body(me)).toMatchObject({ userId: "u-alice", views: 1 });
    const fresh = cookieNamed(me, "__Host-sid");
    expect(fresh).toBeDefined();
    expect(cookieNamed(me, "connect.sid")).toBe("connect.sid=");
    expect((await body(next("GET", "/me", fresh))).userId).toBe("u-alice");
    // Moved, not copied: the old session is gone from the old store, and past the 10 s in
    // which a page's other requests may still bring the old cookie, that cookie is nobody.
    vi.useFakeTimers({ toFake: ["Date"] });
    try {
      vi.setSystemTime(Date.now() + 10_001);
      expect((await next("GET", "/me", sid)).status).toBe(401);
    } finally {
      vi.useRealTimers();
    }
  });

  it("ignores an express-session cookie signed with another secret", async () => {
    const forged = `connect.sid=${encodeURIComponent("s:abc.forgedsignature")}`;
    const app = await start(
      createApp(session, {
        store: memoryStore(),
        origins: [ORIGIN],
        legacy: { secret: OLD_SECRET, store: legacyStore },
        // express-session's default (true) would start an empty session for any visitor.
        saveUninitialized: false,
      }),
    );
    const me = await app("GET", "/me", forged);
    expect(me.status).toBe(401);
    expect(cookieNamed(me, "__Host-sid")).toBeUndefined();
  });

  describe("req.session the express-session way", async () => {
    const store = memoryStore();
    const app = await start(createApp(session, { store, origins: [ORIGIN] }));
    let cookie = "";

    it("regenerate + data + save: signs in with a new session cookie", async () => {
      const login = await app("POST", "/login", undefined, { password: "wonderland" });
      expect(login.status).toBe(200);
      cookie = cookieNamed(login, "__Host-sid") ?? "";
      expect(cookie).not.toBe("");
      const me = await app("GET", "/me", cookie);
      expect(await body(me)).toMatchObject({ userId: "u-alice", views: 0 });
    });

    it("keeps data written to req.session across requests, and reload discards unsaved changes", async () => {
      for (const expected of [1, 2]) {
        expect((await body(app("POST", "/views", cookie))).views).toBe(expected);
      }
      expect((await body(app("POST", "/reload", cookie))).views).toBe(2);
      expect((await body(app("GET", "/me", cookie))).views).toBe(2);
    });

    it("refuses a cross-site write riding the cookie (403), which express-session does not", async () => {
      const r = await app("POST", "/views", cookie, undefined, "https://evil.example");
      expect(r.status).toBe(403);
      expect((await body(app("GET", "/me", cookie))).views).toBe(2);
    });

    it("gives a new session id when a user is set without regenerate (no fixation)", async () => {
      const anon = await app("POST", "/views");
      const before = cookieNamed(anon, "__Host-sid") ?? "";
      expect(before).not.toBe("");
      const fixate = await app("POST", "/fixate", before, { userId: "u-bob" });
      const after = cookieNamed(fixate, "__Host-sid") ?? "";
      expect(after).not.toBe("");
      expect(after).not.toBe(before);
      expect((await app("GET", "/me", before)).status).toBe(401);
      expect((await body(app("GET", "/me", after))).userId).toBe("u-bob");
    });

    it("destroy: signs out, clears the cookie, and the session is gone", async () => {
      const out = await app("POST", "/logout", cookie);
      expect(out.status).toBe(204);
      expect(cookieNamed(out, "__Host-sid")).toBe("__Host-sid=");
      expect((await app("GET", "/me", cookie)).status).toBe(401);
    });
  });
});

describe("express-session compatibility layer: CSRF before anything migrates or is created", async () => {
  const EVIL = "https://evil.example";
  const CROSS = { "sec-fetch-site": "cross-site" };
  const legacyStore = new expressSession.MemoryStore();
  const old = await start(
    createApp(expressSession, {
      secret: OLD_SECRET,
      store: legacyStore,
      resave: false,
      saveUninitialized: false,
    }),
  );
  const store = memoryStore();
  const manager = createSessionManager({
    strategy: "id",
    store,
    csrf: { origins: [ORIGIN] },
    cleanup: false,
  });
  const app = await start(
    createApp(session, {
      manager,
      legacy: { secret: OLD_SECRET, store: legacyStore },
    }),
  );
  /** A user signed in by express-session, who has viewed once: their connect.sid cookie. */
  const legacyUser = async () => {
    const login = await old("POST", "/login", undefined, { password: "wonderland" });
    const sid = cookieNamed(login, "connect.sid") ?? "";
    expect(sid).not.toBe("");
    expect((await body(old("POST", "/views", sid))).views).toBe(1);
    return sid;
  };
  const expectCsrfProblem = async (r: Response) => {
    expect(r.status).toBe(403);
    expect(r.headers.get("content-type")).toContain("application/problem+json");
    expect((await r.json()) as unknown).toMatchObject({ status: 403, code: "csrf_failed" });
    expect(cookieNamed(r, "__Host-sid")).toBeUndefined();
  };

  it("refuses (403) a cross-site POST carrying only the old cookie: nothing moves, nothing acts", async () => {
    const variants: Array<[string | null, Record<string, string>]> = [
      [EVIL, {}], // a foreign Origin
      [EVIL, CROSS], // a foreign Origin, and the browser says cross-site
      [null, CROSS], // Fetch Metadata alone
      [null, {}], // neither: proves nothing, so it is no same-origin request
    ];
    for (const [origin, headers] of variants) {
      const sid = await legacyUser();
      const r = await app("POST", "/views", sid, undefined, origin, headers);
      await expectCsrfProblem(r);
      expect(cookieNamed(r, "connect.sid")).toBeUndefined(); // the old cookie is left alone
      // Not moved: the old session is still in the old store, unchanged, for a same-site visit.
      const me = await app("GET", "/me", sid);
      expect(await body(me)).toMatchObject({ userId: "u-alice", views: 1 });
      expect(cookieNamed(me, "__Host-sid")).toBeDefined();
    }
  });

  it("moves the old session on a same-site POST and acts with it", async () => {
    const sid = await legacyUser();
    const r = await app("POST", "/views", sid, undefined, ORIGIN, {
      "sec-fetch-site": "same-origin",
    });
    expect(r.status).toBe(200);
    expect((await body(r)).views).toBe(2);
    const moved = cookieNamed(r, "__Host-sid") ?? "";
    expect(moved).not.toBe("");
    expect(await body(app("GET", "/me", moved))).toMatchObject({ userId: "u-alice", views: 2 });
  });

  it("refuses (403) a cross-site sign-in (login CSRF): no session is created", async () => {
    const alices = (await store.listUser("u-alice", Date.now())).length; // moved ones above
    for (const [origin, headers] of [
      [EVIL, CROSS],
      [EVIL, {}],
      [null, CROSS],
    ] as Array<[string | null, Record<string, string>]>) {
      const login = await app(
        "POST",
        "/login",
        undefined,
        { password: "wonderland" },
        origin,
        headers,
      );
      await expectCsrfProblem(login);
      // A user set without regenerate, and an anonymous session written to: refused alike.
      await expectCsrfProblem(
        await app("POST", "/fixate", undefined, { userId: "u-mallory" }, origin, headers),
      );
      await expectCsrfProblem(await app("POST", "/views", undefined, undefined, origin, headers));
    }
    expect(await store.listUser("u-alice", Date.now())).toHaveLength(alices);
    expect(await store.listUser("u-mallory", Date.now())).toEqual([]);
    // The same sign-in from the app's own origin works.
    const login = await app("POST", "/login", undefined, { password: "wonderland" });
    expect(login.status).toBe(200);
    expect(cookieNamed(login, "__Host-sid")).toBeDefined();
  });
});
