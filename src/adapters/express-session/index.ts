import type { Request, RequestHandler, Response } from "express";
import { type Duration, parseDuration } from "../../core/duration.js";
import { createSessionManager, type SessionManager } from "../../core/manager.js";
import { normalizeOrigin } from "../../csrf/origin.js";
import { configError } from "../../errors.js";
import type { JsonObject, SessionStore } from "../../stores/types.js";
import { sendRefusal, toRequestLike } from "../node.js";
import { csrfRefusal, problemBody, refusalOf } from "../outcome.js";
import type { Backend } from "./backend.js";
import { Cookie, type CookieOptions } from "./cookie.js";
import type { Send } from "./hold.js";
import { holdResponse } from "./hold.js";
import { type LegacyOptions, legacyReader } from "./legacy.js";
import { managerBackend } from "./manager-backend.js";
import { RequestSession, type Rules } from "./request-session.js";
import { type ExpressSessionStore, MemoryStore, Store } from "./store.js";
import { storeBackend } from "./store-backend.js";

export { Cookie, type CookieOptions } from "./cookie.js";
export { type LegacyOptions, type LegacyStore, unsignLegacyCookie } from "./legacy.js";

import { Session } from "./session.js";

export { type ExpressSessionStore, MemoryStore, Store, type StoredData } from "./store.js";
export { Session };

export interface ExpressSessionCompatOptions {
  /**
   * Where sessions live: any express-session store (`connect-redis`, `connect-pg-simple`, this
   * module's `MemoryStore`, ...) or any sessionkit store (revocation, device lists). Default:
   * a `MemoryStore` (one process, development only), as express-session.
   */
  store?: ExpressSessionStore | SessionStore;
  /** A sessionkit manager (`id` strategy) instead of `store`: its cookie and lifetimes apply. */
  manager?: SessionManager;
  /**
   * express-session's secret(s): no longer used to sign anything (the cookie is a random
   * `id.secret`, the secret hashed at rest), but old `connect.sid` cookies signed with it are
   * read and their sessions moved to the new cookie, so that nobody is signed out.
   */
  secret?: LegacyOptions["secret"];
  /** Cookie name; it gets the `__Host-` prefix (`__Secure-` with a domain or path). Default `sid`. */
  name?: string;
  cookie?: CookieOptions;
  /** Save even when nothing changed. Default `true` (express-session's default). */
  resave?: boolean;
  /** Set the cookie on every response, restarting `cookie.maxAge`. Default `false`. */
  rolling?: boolean;
  /** Store (and set the cookie of) a new session nobody wrote to. Default `true`. */
  saveUninitialized?: boolean;
  /** What `req.session = null` does: `keep` the stored session (default) or `destroy` it. */
  unset?: "keep" | "destroy";
  /** Names new sessions (express-session store only); the cookie adds a random secret. */
  genid?: (req: Request) => string;
  /** Accepted for express-session apps; the cookie is Secure whatever the proxy says. */
  proxy?: boolean;
  /** Origins allowed to send unsafe requests with the cookie (CSRF), besides same-origin. */
  origins?: string[];
  /** Which user a session's data belongs to. Default `userId`, `user.id` or `passport.user`. */
  userId?: (data: JsonObject) => string | null;
  /** Old cookies from another store or name; by default `secret` with `store`, `connect.sid`. */
  legacy?: LegacyOptions;
  /** How long a store call may take before the answer is 503. Default `5s`. */
  storeTimeout?: Duration;
}

const KNOWN = new Set([
  "store",
  "manager",
  "secret",
  "name",
  "key",
  "cookie",
  "resave",
  "rolling",
  "saveUninitialized",
  "unset",
  "genid",
  "proxy",
  "origins",
  "userId",
  "legacy",
  "storeTimeout",
]);

const defaultUserId = (data: JsonObject): string | null => {
  const user = data.user as JsonObject | undefined;
  const passport = data.passport as JsonObject | undefined;
  const id = data.userId ?? user?.id ?? passport?.user;
  return typeof id === "string" || typeof id === "number" ? String(id) : null;
};

const isSessionkitStore = (store: object): store is SessionStore =>
  typeof (store as Partial<SessionStore>).listUser === "function";

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
  for (const key of Object.keys(options)) {
    if (!KNOWN.has(key)) throw configError(`express-session compat: unknown option ${key}`);
  }
  const timeout = parseDuration(options.storeTimeout ?? 5000, "storeTimeout");
  const cookie = checkCookie(options.cookie ?? {});
  if (options.unset !== undefined && options.unset !== "keep" && options.unset !== "destroy") {
    throw configError(`express-session compat: unset must be "keep" or "destroy"`);
  }
  if (options.genid !== undefined && typeof options.genid !== "function") {
    throw configError("express-session compat: genid must be a function");
  }
  const origins = new Set<string>();
  for (const origin of options.origins ?? []) {
    const normal = normalizeOrigin(origin);
    if (!normal) throw configError(`express-session compat: ${origin} is not an origin`);
    origins.add(normal);
  }
  const store = options.store ?? (options.manager ? undefined : new MemoryStore());
  const backend = createBackend(options, store, cookie, origins, timeout);
  const rules: Rules = {
    resave: options.resave ?? true,
    rolling: options.rolling ?? false,
    saveUninitialized: options.saveUninitialized ?? true,
    unsetDestroy: options.unset === "destroy",
    cookie,
    userIdOf: options.userId ?? defaultUserId,
  };
  const legacySource =
    options.legacy ??
    (options.secret !== undefined && store && !isSessionkitStore(store)
      ? { secret: options.secret, store: store as ExpressSessionStore }
      : undefined);
  if (options.secret !== undefined && !options.legacy && !legacySource) {
    throw configError(
      "express-session compat: with a sessionkit store, pass the old store as legacy.store",
    );
  }
  const legacy = legacySource ? legacyReader(legacySource, timeout) : null;
  const cookiePath = cookie.path ?? "/";

  const middleware = async (req: Request, res: Response) => {
    const request = toRequestLike(req);
    const loaded = await backend.load(req, request);
    if (loaded.headers) applyHeaders(res, loaded.headers);
    if (loaded.refusal) return sendRefusal(res, loaded.refusal);
    const sameSite = loaded.session !== null || backend.sameSite(request);
    const old = loaded.session || !legacy ? null : await legacy.read(req);
    // A cross-site unsafe request may not ride the old cookie either.
    if (old && !backend.sameSite(request)) return sendRefusal(res, csrfRefusal());
    const moved = old ? { id: "", token: null, data: old.data, cookie: old.cookie } : null;
    const state = new RequestSession(
      backend,
      rules,
      req,
      res,
      request,
      loaded.session ?? moved,
      sameSite,
    );
    if (old && legacy) {
      state.markUnsaved();
      state.onStored = () => {
        if (!res.headersSent) res.append("set-cookie", legacy.clear);
        void legacy.forget(old.sid);
      };
    }
    Object.defineProperty(req, "sessionID", {
      configurable: true,
      enumerable: true,
      get: () => state.id(),
      // The id names a stored record bound to the cookie's secret; it is not the app's to set.
      set: () => {},
    });
    holdResponse(res, { commit: () => state.commit(), fail: answerFailure });
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

function createBackend(
  options: ExpressSessionCompatOptions,
  store: ExpressSessionStore | SessionStore | undefined,
  cookie: CookieOptions,
  origins: ReadonlySet<string>,
  timeout: number,
): Backend {
  if (options.manager || (store && isSessionkitStore(store))) {
    if (options.genid)
      throw configError("express-session compat: genid needs an express-session store");
    if (options.name !== undefined || (cookie.path ?? "/") !== "/" || cookie.domain) {
      throw configError(
        "express-session compat: with a sessionkit store the cookie is the manager's; set its name, path and domain in the manager's cookie option",
      );
    }
    const manager =
      options.manager ??
      createSessionManager({
        strategy: "id",
        store: store as SessionStore,
        ...(typeof cookie.maxAge === "number"
          ? {
              lifetimes: { idle: cookie.maxAge, absolute: Math.max(cookie.maxAge, 12 * 3_600_000) },
            }
          : {}),
        csrf: { origins: [...origins] },
      });
    if (manager.strategy !== "id") throw configError("express-session compat: use the id strategy");
    return managerBackend(manager as SessionManager<JsonObject>);
  }
  const s = store as ExpressSessionStore;
  for (const method of ["get", "set", "destroy"] as const) {
    if (typeof s?.[method] !== "function") {
      throw configError(`express-session compat: store.${method} must be a function`);
    }
  }
  const secure = cookie.secure !== false;
  const path = cookie.path ?? "/";
  const prefix = !secure
    ? ""
    : cookie.domain === undefined && path === "/"
      ? "__Host-"
      : "__Secure-";
  const base = options.name ?? (options as { key?: string }).key ?? "sid";
  const cookieName = /^__(host|secure)-/i.test(base) ? base : `${prefix}${base}`;
  // Checks the name and prefix rules now rather than on the first request.
  new Cookie(cookie).serialize(cookieName, "x");
  return storeBackend({
    store: s,
    cookieName,
    secure,
    path,
    origins,
    timeout,
    genid: options.genid ?? null,
  });
}

/** Validates express-session's cookie options; refuses the ones that would weaken the cookie. */
function checkCookie(options: CookieOptions): CookieOptions {
  if (typeof options !== "object" || options === null) {
    throw configError(
      "express-session compat: cookie must be an object: the cookie's name prefix (__Host- or __Secure-) depends on its path and domain, which cannot change per request",
    );
  }
  const sameSite = options.sameSite as unknown;
  if (![undefined, true, false, "lax", "strict", "none"].includes(sameSite as string)) {
    throw configError(
      `express-session compat: cookie.sameSite must be true, false, "lax", "strict" or "none" (not "auto": the cookie is always Secure, so "none" works on every scheme)`,
    );
  }
  const secure = options.secure as unknown;
  if (secure === "auto") {
    throw configError(
      `express-session compat: cookie.secure "auto" is not supported: the cookie is always Secure (browsers accept Secure cookies on http://localhost); set secure: false only for plain-HTTP development elsewhere`,
    );
  }
  if (options.httpOnly === false) {
    throw configError(
      "express-session compat: cookie.httpOnly false is refused: a session cookie that scripts can read is stolen by any XSS",
    );
  }
  if (options.expires !== undefined && options.expires !== null) {
    if (!(options.expires instanceof Date) || Number.isNaN(options.expires.getTime())) {
      throw configError("express-session compat: cookie.expires must be a valid Date");
    }
  }
  if (options.maxAge !== undefined && options.maxAge !== null) {
    if (typeof options.maxAge !== "number" || !Number.isFinite(options.maxAge)) {
      throw configError("express-session compat: cookie.maxAge must be a number of ms");
    }
  }
  return { ...options, httpOnly: true };
}

function applyHeaders(res: Response, headers: Headers): void {
  for (const value of headers.getSetCookie()) res.append("set-cookie", value);
  headers.forEach((value, name) => {
    if (name !== "set-cookie") res.setHeader(name, value);
  });
}

/** A failed save answers once, as problem details, instead of the route's response. */
function answerFailure(error: unknown, send: Send): void {
  const refusal = refusalOf(error);
  if (!refusal) {
    const body = { type: "about:blank", title: "Internal error", status: 500, code: "internal" };
    send(500, { "content-type": "application/problem+json" }, JSON.stringify(body));
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
