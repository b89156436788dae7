import type { Request, RequestHandler, Response } from "express";
import { applyNodeHeaders, markAuthenticated, sendRefusal, toRequestLike } from "../node.js";
import { csrfRefusal, problemBody, refusalOf } from "../outcome.js";
import { Cookie } from "./cookie.js";
import { holdResponse, type Send } from "./hold.js";
import type { LegacySession } from "./legacy.js";
import { configure, type ExpressSessionCompatOptions } from "./options.js";
import { RequestSession } from "./request-session.js";
import { Session } from "./session.js";
import { MemoryStore, Store } from "./store.js";

export { Cookie, type CookieOptions } from "./cookie.js";
export { type LegacyOptions, type LegacyStore, unsignLegacyCookie } from "./legacy.js";
export type { ExpressSessionCompatOptions } from "./options.js";
export { type ExpressSessionStore, MemoryStore, Store, type StoredData } from "./store.js";
export { Session };

const MOVED_GRACE_MS = 10_000;
const MOVED_KEPT = 10_000;

/**
 * Drop-in for `express-session`: `app.use(session(options))` gives routes the same
 * `req.session` (data, `regenerate`, `destroy`, `save`, `reload`, `touch`, `cookie`) with
 * express-session's options, while the cookie becomes a random `id.secret` (hashed at rest,
 * `__Host-`, `HttpOnly`, `Secure`), cross-site writes are refused, and a store that fails
 * answers 503 instead of hanging.
 *
 * @example
 * import session from "sessionkit/adapters/express-session";
 * app.use(session({ secret: process.env.OLD_SECRET, store, cookie: { maxAge: 86_400_000 } }));
 */
export default function session(options: ExpressSessionCompatOptions = {}): RequestHandler {
  const { backend, rules, legacy, cookiePath } = configure(options);

  // Old cookies being moved in this process: a second request with the same one (a page's
  // parallel requests, or a replay) waits for the first and then reads what it became.
  const moving = new Map<string, Promise<string | null>>();
  // And for a short while after (as a renewed token's grace): requests a page sent together
  // with the first arrive after it finished, still carrying the old cookie.
  const moved = new Map<string, { pair: string; until: number }>();
  const recently = (sid: string) => {
    const now = Date.now();
    for (const [key, entry] of moved) {
      if (entry.until > now && moved.size <= MOVED_KEPT) break;
      moved.delete(key);
    }
    const entry = moved.get(sid);
    return entry && entry.until > now ? Promise.resolve<string | null>(entry.pair) : undefined;
  };

  const middleware = async (req: Request, res: Response) => {
    const request = toRequestLike(req);
    let loaded = await backend.load(req, request);
    if (loaded.headers) applyNodeHeaders(res, loaded.headers);
    if (loaded.refusal) return sendRefusal(res, loaded.refusal);
    if (loaded.session) markAuthenticated(res);
    const sameSite = loaded.session !== null || backend.sameSite(request);
    let old: LegacySession | null = null;
    let release: (pair: string | null) => void = () => {};
    const sid = !loaded.session && legacy ? legacy.sidOf(req) : null;
    const first = sid ? (moving.get(sid) ?? recently(sid)) : undefined;
    if (sid && legacy && first) {
      // Moved by a request running now: the cookie it moved to, as if the browser sent it.
      const pair = await first;
      if (pair) {
        req.headers.cookie = withCookie(req.headers.cookie, legacy.name, pair);
        loaded = await backend.load(req, request);
        if (loaded.headers) applyNodeHeaders(res, loaded.headers);
        if (loaded.refusal) return sendRefusal(res, loaded.refusal);
        if (loaded.session) markAuthenticated(res);
      }
    } else if (sid && legacy) {
      // Registered before the first await, so that a concurrent request finds it.
      let done: (pair: string | null) => void = () => {};
      const pending = new Promise<string | null>((resolve) => {
        done = resolve;
      });
      moving.set(sid, pending);
      release = (pair) => {
        if (moving.get(sid) === pending) moving.delete(sid);
        if (pair) moved.set(sid, { pair, until: Date.now() + MOVED_GRACE_MS });
        done(pair);
      };
      try {
        old = await legacy.read(sid);
      } finally {
        if (!old) release(null);
      }
      // A cross-site unsafe request may not ride the old cookie either.
      if (old && !backend.sameSite(request)) {
        release(null);
        return sendRefusal(res, csrfRefusal());
      }
    }
    const carried = old ? { id: "", token: null, data: old.data, cookie: old.cookie } : null;
    const state = new RequestSession(
      backend,
      rules,
      req,
      res,
      request,
      loaded.session ?? carried,
      sameSite,
    );
    if (old && legacy) {
      const oldSid = old.sid;
      state.markUnsaved();
      // Once saved under its new id, or ended (destroy, regenerate): the old record goes and
      // the old cookie is cleared, so that it signs nobody in again.
      state.onSettled = async (pair) => {
        state.out(new Headers({ "set-cookie": legacy.clear }));
        await legacy.forget(oldSid);
        release(pair);
      };
      res.on("close", () => release(null));
    }
    Object.defineProperty(req, "sessionID", {
      configurable: true,
      enumerable: true,
      get: () => state.id(),
      // The id names a stored record bound to the cookie's secret; it is not the app's to set.
      set: () => {},
    });
    holdResponse(res, {
      commit: () => state.commit(),
      headers: () => state.pending.splice(0),
      fail: answerFailure,
    });
    return true;
  };

  return (req, res, next) => {
    // Another session middleware ran first (express-session's rule), or the store is down.
    if ((req as { session?: unknown }).session || !backend.online()) return next();
    const path = (req.originalUrl || req.url || "/").split("?")[0] || "/";
    if (!path.startsWith(cookiePath)) return next();
    middleware(req, res).then(
      (proceed) => {
        if (proceed) next();
      },
      (error: unknown) => {
        if (res.headersSent) return res.destroy();
        const refusal = refusalOf(error);
        if (refusal) return sendRefusal(res, refusal);
        next(error);
      },
    );
  };
}

// express-session's name for the factory's companions, on the function itself, so that
// `require("sessionkit/adapters/express-session").MemoryStore` and connect-redis ≤ 6's
// `require("connect-redis")(session)` (which reads `session.Store`) work.
Object.assign(session, { Store, MemoryStore, Cookie, Session });

// What `require()` of this ESM module returns (Node 20.19+): the factory itself, as with
// express-session, rather than a namespace with `.default`.
export { session as "module.exports" };

/** The request's cookies with the old one replaced by `pair` (`name=value`). */
function withCookie(header: string | undefined, old: string, pair: string): string {
  const kept = (header ?? "")
    .split(";")
    .map((part) => part.trim())
    .filter((part) => part !== "" && !part.startsWith(`${old}=`));
  return [...kept, pair].join("; ");
}

/** A failed save answers once, as problem details, instead of the route's response. */
function answerFailure(error: unknown, send: Send): void {
  const refusal = refusalOf(error);
  if (!refusal) {
    const body = problemBody({ status: 500, code: "internal", title: "Internal error" });
    send(500, { "content-type": "application/problem+json" }, body);
    return;
  }
  const headers: Record<string, string> = {
    "content-type": "application/problem+json",
    "cache-control": "no-store",
  };
  refusal.headers.forEach((value, name) => {
    headers[name] = value;
  });
  send(refusal.status, headers, problemBody(refusal));
}
