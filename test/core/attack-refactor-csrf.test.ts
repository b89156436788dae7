import { describe, expect, it } from "vitest";
import { MemoryStore } from "../../src/adapters/express-session/index.js";
import { createSessionManager, type SessionManager } from "../../src/index.js";
import { memoryStore } from "../../src/stores/memory/index.js";
import { generateKeySet } from "../../src/tokens/keys.js";
import { cookieOf as firstCookie, sess, startApp } from "../helpers/express-session-app.js";
import { ORIGIN } from "../helpers/manager.js";

// Issue 14 put the CSRF rule in one place (core/csrf.ts) for authenticate, the jwt strategy,
// refresh, sign-out, the session a sign-in ends, and the express-session layer (no tokens
// there). Attack every state-changing path of every strategy with what a cross-site page can
// make a browser send, as at ce37dbc (a probe of ~18,000 cases gave the same answers before and
// after the change): each is refused and changes nothing; the same request from the site passes.
const keys = generateKeySet("HS256", "k1");
const URL_ = "https://app.example/api/thing";

/** A CSRF token bound to session `id`, as `csrfToken` mints it for that session. */
const tokenFor = (manager: SessionManager, id: string) =>
  manager.csrfToken({ id, absoluteExpiresAt: new Date(Date.now() + 3_600_000) } as Parameters<
    SessionManager["csrfToken"]
  >[0]).token;

/** What a page elsewhere can make a browser send with an unsafe method (and the token tricks). */
function crossSite(manager: SessionManager, sid: string): Record<string, Record<string, string>> {
  const evil = { "sec-fetch-site": "cross-site", origin: "https://evil.example" };
  return {
    "no headers": {},
    "cross-site": evil,
    "same-site sibling": { "sec-fetch-site": "same-site", origin: "https://sub.app.example" },
    "Origin null": { origin: "null" },
    "Origin with a slash": { origin: `${ORIGIN}/` },
    "Origin of http": { origin: "http://app.example" },
    "Referer only": { referer: `${ORIGIN}/page` },
    "Fetch Metadata says cross-site, Origin is the target": {
      "sec-fetch-site": "cross-site",
      origin: "https://app.example.evil.example",
    },
    "a token of another session": {
      ...evil,
      "x-csrf-token": tokenFor(manager, "other"),
    },
    // Bound to no session: it proves a sign-in form, never a right over a session.
    "the sign-in form's token": { ...evil, "x-csrf-token": manager.csrfToken(null).token },
    "a token of the session, mangled": {
      ...evil,
      "x-csrf-token": `${tokenFor(manager, sid)}x`,
    },
  };
}

const SITE = { "sec-fetch-site": "same-origin" };

function managerOf(strategy: "id" | "jwt" | "hybrid") {
  return createSessionManager({
    strategy,
    store: memoryStore(),
    cleanup: false,
    csrf: { origins: [ORIGIN] },
    ...(strategy === "id" ? {} : { keys, issuer: ORIGIN, audience: "app" }),
  });
}

const cookies = (headers: Headers) =>
  headers
    .getSetCookie()
    .map((line) => line.split(";")[0])
    .join("; ");
// A RequestLike, not a Request: a framework hands over whatever method the client sent.
const request = (method: string, cookie: string, headers: Record<string, string>) => ({
  method,
  url: URL_,
  headers: new Headers({ ...headers, cookie }),
});

for (const strategy of ["id", "jwt", "hybrid"] as const) {
  describe(`${strategy}: every cookie-borne state change refuses a cross-site request`, () => {
    const manager = managerOf(strategy);

    it("authenticate of POST, PUT, PATCH, DELETE (and lower case)", async () => {
      const issued = await manager.create({ userId: "alice" });
      const sid = issued.session.id;
      for (const method of ["POST", "PUT", "PATCH", "DELETE", "post", "CONNECT", "PROPFIND", ""]) {
        for (const [name, headers] of Object.entries(crossSite(manager, sid))) {
          const result = await manager.authenticate(
            request(method, cookies(issued.headers), headers),
          );
          expect(result.failure?.reason, `${method} ${name}`).toBe("csrf");
          expect(result.headers.getSetCookie(), `${method} ${name}`).toEqual([]);
        }
        const ok = await manager.authenticate(request(method, cookies(issued.headers), SITE));
        expect(ok.session?.id).toBe(sid);
      }
      // The session's own token passes cross-site (double submit), as before.
      const token = manager.csrfToken(issued.session).token;
      const withToken = { "sec-fetch-site": "cross-site", "x-csrf-token": token };
      const passed = await manager.authenticate(
        request("POST", cookies(issued.headers), withToken),
      );
      expect(passed.session?.id).toBe(sid);
    });

    it("sign-out, with a session and without one, changes nothing cross-site", async () => {
      const issued = await manager.create({ userId: "alice" });
      for (const [name, headers] of Object.entries(crossSite(manager, issued.session.id))) {
        for (const cookie of [cookies(issued.headers), ""]) {
          // Without a session, the sign-in form's token is what proves the request (as before).
          if (cookie === "" && name === "the sign-in form's token") continue;
          const out = await manager.logout(request("POST", cookie, headers));
          expect(out.failure?.reason, `${name} ${cookie ? "with" : "without"}`).toBe("csrf");
          expect(out.revoked).toBe(false);
          // Not even the cookies are cleared: that alone would sign the user out.
          expect(out.headers.getSetCookie()).toEqual([]);
        }
      }
      expect(await manager.get(issued.session.id)).not.toBeNull();
      const out = await manager.logout(request("POST", cookies(issued.headers), SITE));
      expect(out.revoked).toBe(true);
    });

    it("a sign-in ends the session that rode along only when the request may end it", async () => {
      const issued = await manager.create({ userId: "alice" });
      for (const [name, headers] of Object.entries(crossSite(manager, issued.session.id))) {
        const next = await manager.create({
          userId: "mallory",
          request: request("POST", cookies(issued.headers), headers),
        });
        expect(await manager.get(issued.session.id), name).not.toBeNull();
        await manager.revoke(next.session.id);
      }
      await manager.create({
        userId: "bob",
        request: request("POST", cookies(issued.headers), SITE),
      });
      expect(await manager.get(issued.session.id)).toBeNull();
    });

    it("checkCsrf (routes without a session, such as sign-in) refuses the same requests", async () => {
      const issued = await manager.create({ userId: "alice" });
      for (const [name, headers] of Object.entries(crossSite(manager, issued.session.id))) {
        const r = request("POST", "", headers);
        expect(manager.checkCsrf(r, issued.session), name).toBe(false);
        if (name !== "the sign-in form's token")
          expect(manager.checkCsrf(r, null), name).toBe(false);
      }
    });

    if (strategy === "hybrid") {
      it("refresh rotates nothing cross-site", async () => {
        const issued = await manager.create({ userId: "alice" });
        for (const [name, headers] of Object.entries(crossSite(manager, issued.session.id))) {
          const result = await manager.refresh(request("POST", cookies(issued.headers), headers));
          expect(result.failure?.reason, name).toBe("csrf");
          expect(result.headers.getSetCookie(), name).toEqual([]);
        }
        const ok = await manager.refresh(request("POST", cookies(issued.headers), SITE));
        expect(ok.session?.id).toBe(issued.session.id);
      });
    }
  });
}

describe("express-session layer (an express-session store): no token is honoured", () => {
  it("a cross-site POST with any manager's token can neither ride the cookie nor start a session", async () => {
    const store = new MemoryStore();
    const app = await startApp({ store, origins: [ORIGIN] }, (req, res) => {
      if (req.path === "/login") sess(req).user = "alice";
      res.json({ user: sess(req).user ?? null });
    });
    const cookie = firstCookie(await app("/login", { method: "POST" }));
    expect(cookie).not.toBe("");
    const managers = [managerOf("id"), managerOf("hybrid")];
    const tokens = managers.flatMap((m) => [
      m.csrfToken(null).token,
      tokenFor(m, cookie.split("=")[1]?.split(".")[0] ?? ""),
    ]);
    for (const token of tokens) {
      const headers = {
        "sec-fetch-site": "cross-site",
        origin: "https://evil.example",
        "x-csrf-token": token,
      };
      const riding = await app("/logout", { method: "POST", headers: { ...headers, cookie } });
      expect(riding.status).toBe(403);
      const fresh = await app("/login", { method: "POST", headers });
      expect(fresh.status).toBe(403);
      expect(fresh.headers.getSetCookie()).toEqual([]);
    }
  });
});
