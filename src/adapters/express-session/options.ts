import type { Request } from "express";
import { type CookieAttributes, checkCookiePrefix } from "../../cookies/serialize.js";
import { type Duration, parseDuration } from "../../core/duration.js";
import { createSessionManager, type SessionManager } from "../../core/manager.js";
import { normalizeOrigin } from "../../csrf/origin.js";
import { configError } from "../../errors.js";
import type { JsonObject, SessionStore } from "../../stores/types.js";
import type { Backend } from "./backend.js";
import type { CookieOptions } from "./cookie.js";
import { type LegacyOptions, legacyReader } from "./legacy.js";
import { managerBackend } from "./manager-backend.js";
import type { Rules } from "./request-session.js";
import { type ExpressSessionStore, MemoryStore } from "./store.js";
import { storeBackend } from "./store-backend.js";

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
   * `id.secret`, the secret hashed at rest), but old cookies signed with it are read and their
   * sessions moved to the new cookie, so that nobody is signed out.
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
  /** Old cookies from another store; by default `secret` with `store` and `name`. */
  legacy?: LegacyOptions;
  /** How long a store call may take before the answer is 503. Default `5s`. */
  storeTimeout?: Duration;
}

const OPTIONS: Record<string, "boolean" | "string" | "function" | "object" | "any"> = {
  store: "object",
  manager: "object",
  secret: "any",
  name: "string",
  key: "string",
  cookie: "object",
  resave: "boolean",
  rolling: "boolean",
  saveUninitialized: "boolean",
  unset: "string",
  genid: "function",
  proxy: "boolean",
  origins: "object",
  userId: "function",
  legacy: "object",
  storeTimeout: "any",
};
const COOKIE_OPTIONS = new Set([
  "maxAge",
  "expires",
  "path",
  "domain",
  "secure",
  "httpOnly",
  "sameSite",
  "partitioned",
  "priority",
]);

const fail = (message: string) => configError(`express-session compat: ${message}`);

const defaultUserId = (data: JsonObject): string | null => {
  const user = data.user as JsonObject | undefined;
  const passport = data.passport as JsonObject | undefined;
  const id = data.userId ?? user?.id ?? passport?.user;
  return typeof id === "string" || typeof id === "number" ? String(id) : null;
};

export const isSessionkitStore = (store: object): store is SessionStore =>
  typeof (store as Partial<SessionStore>).listUser === "function";

/** Every option checked once; a mistake throws `CONFIG_INVALID` here, naming the option. */
export function configure(options: ExpressSessionCompatOptions) {
  for (const [key, value] of Object.entries(options)) {
    const kind = OPTIONS[key];
    if (kind === undefined) throw fail(`unknown option ${key}`);
    if (value === undefined && key === "secret") {
      throw fail("secret is undefined (an unset environment variable?): set it, or remove it");
    }
    if (value === undefined || kind === "any") continue;
    if (kind === "object" ? typeof value !== "object" || value === null : typeof value !== kind) {
      throw fail(`${key} must be ${kind === "object" ? "an object" : `a ${kind}`}`);
    }
  }
  if (options.origins !== undefined && !Array.isArray(options.origins)) {
    throw fail("origins must be a list of origins");
  }
  if (options.unset !== undefined && options.unset !== "keep" && options.unset !== "destroy") {
    throw fail(`unset must be "keep" or "destroy"`);
  }
  const timeout = parseDuration(options.storeTimeout ?? 5000, "storeTimeout");
  const cookie = checkCookie(options.cookie ?? {});
  const origins = new Set<string>();
  for (const origin of options.origins ?? []) {
    const normal = typeof origin === "string" ? normalizeOrigin(origin) : null;
    if (!normal) throw fail(`origins: ${String(origin)} is not an origin (https://host[:port])`);
    origins.add(normal);
  }
  if (!options.store && !options.manager && process.env.NODE_ENV === "production") {
    // express-session's warning too: each process would have its own sessions, lost at exit.
    process.emitWarning(
      "sessionkit express-session compat: no store given, using a MemoryStore, which is for one process in development",
    );
  }
  const store = options.store ?? (options.manager ? undefined : new MemoryStore());
  const kept = store !== undefined && !isSessionkitStore(store);
  const name = options.name ?? (options as { key?: string }).key;
  const backend = kept
    ? expressStoreBackend(store, name, cookie, origins, timeout, options.genid)
    : sessionkitBackend(options, store, name, cookie, origins);
  const legacySource =
    options.legacy ??
    (options.secret !== undefined && kept
      ? { secret: options.secret, store, ...(name === undefined ? {} : { name }) }
      : undefined);
  if (options.secret !== undefined && !legacySource) {
    throw fail(
      "with a sessionkit store, pass the old store and secret as legacy: { secret, store }",
    );
  }
  const rules: Rules = {
    resave: options.resave ?? true,
    rolling: options.rolling ?? false,
    saveUninitialized: options.saveUninitialized ?? true,
    unsetDestroy: options.unset === "destroy",
    cookie,
    userIdOf: options.userId ?? defaultUserId,
  };
  return {
    backend,
    rules,
    legacy: legacySource ? legacyReader(legacySource, timeout) : null,
    cookiePath: cookie.path ?? "/",
  };
}

function sessionkitBackend(
  options: ExpressSessionCompatOptions,
  store: SessionStore | undefined,
  name: string | undefined,
  cookie: CookieOptions,
  origins: ReadonlySet<string>,
): Backend {
  if (options.genid) throw fail("genid needs an express-session store");
  // The manager owns the cookie: an option it would ignore is refused instead.
  const ignored = [
    ...(name === undefined ? [] : ["name"]),
    ...Object.keys(cookie).filter((key) => key !== "maxAge" && key !== "httpOnly"),
  ];
  if (ignored.length > 0) {
    throw fail(
      `with a sessionkit store the cookie is sessionkit's: ${ignored.join(", ")} cannot be set here; pass manager: createSessionManager({ store, cookie: {...} }) for its options, or keep an express-session store`,
    );
  }
  const maxAge = typeof cookie.maxAge === "number" ? cookie.maxAge : null;
  const manager =
    options.manager ??
    createSessionManager({
      strategy: "id",
      store: store as SessionStore,
      ...(maxAge === null
        ? {}
        : { lifetimes: { idle: maxAge, absolute: Math.max(maxAge, 12 * 3_600_000) } }),
      csrf: { origins: [...origins] },
    });
  if (manager.strategy !== "id") throw fail("use the id strategy");
  return managerBackend(manager as SessionManager<JsonObject>);
}

function expressStoreBackend(
  store: ExpressSessionStore,
  name: string | undefined,
  cookie: CookieOptions,
  origins: ReadonlySet<string>,
  timeout: number,
  genid: ((req: Request) => string) | undefined,
): Backend {
  for (const method of ["get", "set", "destroy"] as const) {
    if (typeof store[method] !== "function") throw fail(`store.${method} must be a function`);
  }
  const secure = cookie.secure !== false;
  const path = cookie.path ?? "/";
  const prefix = !secure
    ? ""
    : cookie.domain === undefined && path === "/"
      ? "__Host-"
      : "__Secure-";
  const base = name ?? "sid";
  const cookieName = /^__(host|secure)-/i.test(base) ? base : `${prefix}${base}`;
  const sameSite = cookie.sameSite === true ? "strict" : cookie.sameSite || undefined;
  const attributes: CookieAttributes = {
    path,
    httpOnly: true,
    secure,
    ...(cookie.domain === undefined ? {} : { domain: cookie.domain }),
    ...(sameSite === undefined ? {} : { sameSite }),
    ...(cookie.partitioned ? { partitioned: true } : {}),
  };
  // The name, the prefix rules and the attributes' characters, now rather than per request.
  checkCookiePrefix(cookieName, attributes);
  return storeBackend({
    store,
    cookieName,
    secure,
    attributes,
    origins,
    timeout,
    genid: genid ?? null,
  });
}

/** Validates express-session's cookie options; refuses the ones that would weaken the cookie. */
function checkCookie(options: CookieOptions): CookieOptions {
  if (typeof options !== "object" || options === null) {
    throw fail(
      "cookie must be an object: the cookie's name prefix (__Host- or __Secure-) depends on its path and domain, which cannot change per request",
    );
  }
  for (const key of Object.keys(options)) {
    if (!COOKIE_OPTIONS.has(key)) throw fail(`unknown cookie option ${key}`);
  }
  const out: CookieOptions = { ...options, httpOnly: true };
  if (typeof options.sameSite === "string") {
    out.sameSite = options.sameSite.toLowerCase() as CookieOptions["sameSite"];
  }
  if (![undefined, true, false, "lax", "strict", "none"].includes(out.sameSite as string)) {
    throw fail(
      `cookie.sameSite must be true, false, "lax", "strict" or "none" (not "auto": the cookie is always Secure, so "none" works on every scheme)`,
    );
  }
  if ((options.secure as unknown) === "auto") {
    throw fail(
      `cookie.secure "auto" is not supported: the cookie is always Secure (browsers accept Secure cookies on http://localhost); set secure: false only for plain-HTTP development elsewhere`,
    );
  }
  if (options.secure !== undefined && typeof options.secure !== "boolean") {
    throw fail("cookie.secure must be true or false");
  }
  if (options.httpOnly === false) {
    throw fail(
      "cookie.httpOnly false is refused: a session cookie that scripts can read is stolen by any XSS",
    );
  }
  if (options.expires !== undefined && options.expires !== null) {
    if (!(options.expires instanceof Date) || Number.isNaN(options.expires.getTime())) {
      throw fail("cookie.expires must be a valid Date");
    }
  }
  if (options.maxAge !== undefined && options.maxAge !== null) {
    if (typeof options.maxAge !== "number" || !Number.isFinite(options.maxAge)) {
      throw fail("cookie.maxAge must be a number of ms");
    }
  }
  if (options.priority !== undefined && !["low", "medium", "high"].includes(options.priority)) {
    throw fail(`cookie.priority must be "low", "medium" or "high"`);
  }
  if (options.partitioned !== undefined && typeof options.partitioned !== "boolean") {
    throw fail("cookie.partitioned must be true or false");
  }
  for (const key of ["path", "domain"] as const) {
    if (options[key] !== undefined && typeof options[key] !== "string") {
      throw fail(`cookie.${key} must be a string`);
    }
  }
  return out;
}
