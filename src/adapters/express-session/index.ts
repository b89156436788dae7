import type { Request, RequestHandler, Response } from "express";
import type { RequestLike } from "../../core/types.js";
import { applyNodeHeaders, markAuthenticated, sendRefusal, toRequestLike } from "../node.js";
import { csrfRefusal, problemBody, refusalOf } from "../outcome.js";
import type { Backend } from "./backend.js";
import { Cookie } from "./cookie.js";
import { holdResponse, type Send } from "./hold.js";
import { finishMove, LegacyMoves, type Move, replaceCookie, startMove } from "./moving.js";
import { configure, type ExpressSessionCompatOptions } from "./options.js";
import { RequestSession } from "./request-session.js";
import { Session } from "./session.js";
import { MemoryStore, Store } from "./store.js";

export { Cookie, type CookieOptions } from "./cookie.js";
export { type LegacyOptions, type LegacyStore, unsignLegacyCookie } from "./legacy.js";
export type { ExpressSessionCompatOptions } from "./options.js";
export { type ExpressSessionStore, MemoryStore, Store, type StoredData } from "./store.js";
export { Session };

/**
 * Drop-in for `express-session`: `app.use(session(options))` gives routes the same
 * `req.session` (data, `regenerate`, `destroy`, `save`, `reload`, `touch`, `cookie`) with
 * express-session's options, while the cookie becomes a random `id.secret` (hashed at rest,
 * `__Host-`, `HttpOnly`, `Secure`), cross-site writes are refused, and a store that fails
 * answers 503 instead of hanging.
 *
 * @example
 * ```ts
 * import express from "express";
 * import session from "sessionkit/adapters/express-session";
 * import { redisStore } from "sessionkit/stores/redis";
 *
 * const app = express();
 * app.use(
 *   session({
 *     store: redisStore({ url: "redis://127.0.0.1:6379" }), // or any connect-* store
 *     secret: process.env.SESSION_SECRET, // old connect.sid cookies are read and moved
 *     resave: false,
 *     saveUninitialized: false,
 *     cookie: { maxAge: 30 * 60_000 },
 *   }),
 * );
 * ```
 */
export default function session(options: ExpressSessionCompatOptions = {}): RequestHandler {
  const config = configure(options);
  const moves = new LegacyMoves();
  return (req, res, next) => {
    // Another session middleware ran first (express-session's rule), or the store is down.
    if ((req as { session?: unknown }).session || !config.backend.online()) return next();
    const path = (req.originalUrl || req.url || "/").split("?")[0] || "/";
    if (!path.startsWith(config.cookiePath)) return next();
    attach(config, moves, req, res).then(
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

type Config = ReturnType<typeof configure>;

/**
 * Sets `req.session` (and `req.sessionID`) and holds the response until it is saved; `false`
 * when it answered the request itself (403, 503).
 */
async function attach(
  { backend, rules, legacy }: Config,
  moves: LegacyMoves,
  req: Request,
  res: Response,
): Promise<boolean> {
  const request = toRequestLike(req);
  let loaded = await load(backend, req, res, request);
  if (!loaded) return false;
  const sameSite = loaded.session !== null || backend.sameSite(request);
  let move: Move | null = null;
  const sid = !loaded.session && legacy ? legacy.sidOf(req) : null;
  const first = sid ? moves.find(sid) : undefined;
  if (sid && legacy && first) {
    // Moved by a request running now: the cookie it moved to, as if the browser sent it.
    const pair = await first;
    if (pair) {
      replaceCookie(req, legacy.name, pair);
      loaded = await load(backend, req, res, request);
      if (!loaded) return false;
    }
  } else if (sid && legacy) {
    const started = await startMove(legacy, moves, sid, sameSite);
    if (started === "cross-site") {
      sendRefusal(res, csrfRefusal());
      return false;
    }
    move = started;
  }
  const old = move?.old;
  const carried = old ? { id: "", token: null, data: old.data, cookie: old.cookie } : null;
  const loadedSession = loaded.session ?? carried;
  const state = new RequestSession(backend, rules, req, res, request, loadedSession, sameSite);
  if (move && legacy) finishMove(legacy, move, state, res);
  holdResponse(res, {
    commit: () => state.commit(),
    headers: () => state.pending.splice(0),
    fail: answerFailure,
  });
  return true;
}

/** The request's stored session, its headers on `res`; `null` when refused (answered). */
async function load(backend: Backend, req: Request, res: Response, request: RequestLike) {
  const loaded = await backend.load(req, request);
  if (loaded.headers) applyNodeHeaders(res, loaded.headers);
  if (loaded.refusal) {
    sendRefusal(res, loaded.refusal);
    return null;
  }
  if (loaded.session) markAuthenticated(res);
  return loaded;
}

// express-session's name for the factory's companions, on the function itself, so that
// `require("sessionkit/adapters/express-session").MemoryStore` and connect-redis ≤ 6's
// `require("connect-redis")(session)` (which reads `session.Store`) work.
Object.assign(session, { Store, MemoryStore, Cookie, Session });

// What `require()` of this ESM module returns (Node 20.19+): the factory itself, as with
// express-session, rather than a namespace with `.default`.
export { session as "module.exports" };

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
