import { findAuthCookie } from "../../cookies/parse.js";
import { type CookieAttributes, serializeCookie } from "../../cookies/serialize.js";
import { csrfCheck } from "../../core/csrf.js";
import { SessionError } from "../../errors.js";
import type { JsonObject } from "../../stores/types.js";
import { generateOpaqueToken, hashesEqual, hashSecret, isSessionId } from "../../tokens/opaque.js";
import { csrfRefusal } from "../outcome.js";
import type { Backend } from "./backend.js";
import type { CookieJson } from "./cookie.js";
import type { ExpressSessionStore, StoredData, StoreWrites } from "./store.js";

/**
 * The record key of the SHA-256 of the cookie's secret: the cookie is `id.secret`, the store is
 * keyed by `id` and keeps only this hash, so that whoever reads the store (a backup, a shared
 * Redis) cannot present a session, and a cookie with a right id and a wrong secret is nobody.
 */
export const SECRET_HASH_KEY = "sessionkitSecretHash";
const SECRET = /^[A-Za-z0-9_-]{43}$/;
/**
 * What an id from `genid` may be: express-session only ever passed a store ids it had signed,
 * so a store may build a file path or a key from them. Without `genid` ids are sessionkit's own.
 */
const GENID = /^[\w.~:@+=-]{1,128}$/;
const SAMESITE = new Set(["lax", "strict", "none"]);
const PRIORITY = new Set(["low", "medium", "high"]);

export interface StoreBackendOptions {
  store: ExpressSessionStore;
  cookieName: string;
  /** `false` only for plain-HTTP development: then the cookie is neither Secure nor prefixed. */
  secure: boolean;
  /** The cookie's attributes, checked at construction against the name's prefix. */
  attributes: CookieAttributes;
  origins: ReadonlySet<string>;
  /** Milliseconds a store call may take before `STORE_UNAVAILABLE`. */
  timeout: number;
  genid: ((req: import("express").Request) => string) | null;
}

const unavailable = (cause: unknown) =>
  new SessionError("STORE_UNAVAILABLE", "the session store did not answer", { cause });

/**
 * A callback-style store call as a promise that settles once, within `timeout`: a store that
 * throws, calls back twice or never calls back cannot hang or crash a request.
 */
export function bounded<T>(
  timeout: number,
  call: (callback: (error?: unknown, value?: T) => void) => void,
  notFound?: (error: unknown) => boolean,
): Promise<T | undefined> {
  return new Promise((resolve, reject) => {
    let done = false;
    const timer = setTimeout(() => settle(unavailable(new Error("timeout"))), timeout);
    function settle(error: unknown, value?: T) {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (error && !notFound?.(error)) reject(unavailable(error));
      else resolve(error ? undefined : value);
    }
    try {
      call(settle);
    } catch (error) {
      settle(error ?? new Error("store threw"));
    }
  });
}

const isEnoent = (error: unknown) => (error as { code?: unknown } | null)?.code === "ENOENT";

/** Sessions kept in an express-session store, under hashed `id.secret` cookies. */
export function storeBackend(o: StoreBackendOptions): Backend {
  const { store, timeout } = o;
  const writes: StoreWrites = store;
  let connected = true;
  const emitter = store as Partial<Pick<NodeJS.EventEmitter, "on">>;
  if (typeof emitter.on === "function") {
    emitter.on.call(store, "disconnect", () => {
      connected = false;
    });
    emitter.on.call(store, "connect", () => {
      connected = true;
    });
  }
  const get = (id: string) =>
    bounded<StoredData | null>(timeout, (cb) => store.get(id, cb), isEnoent);
  const split = (data: StoredData) => {
    const { cookie, [SECRET_HASH_KEY]: _hash, ...rest } = data;
    return { data: rest as JsonObject, cookie: (cookie as CookieJson | undefined) ?? null };
  };
  const validId = (id: string) =>
    o.genid ? GENID.test(id) && !id.includes("..") : isSessionId(id);
  // The manager's CSRF rule, without its tokens: this layer mints none.
  const sameSite = csrfCheck({ origins: o.origins, tokenKey: null });

  return {
    online: () => connected,
    sameSite,
    fresh(req) {
      const token = generateOpaqueToken();
      const id = o.genid ? String(o.genid(req)) : token.id;
      if (!validId(id)) {
        throw new SessionError(
          "CONFIG_INVALID",
          "genid must return 1 to 128 of A-Z a-z 0-9 _ . ~ : @ + = - (no ..): stores build keys and paths from it",
        );
      }
      return { id, token: `${encodeURIComponent(id)}.${token.secret}` };
    },
    async load(req, request) {
      const found = findAuthCookie(req.headers.cookie, o.cookieName);
      if (found.status !== "found") return { session: null, headers: null, refusal: null };
      const dot = found.value.lastIndexOf(".");
      const secret = found.value.slice(dot + 1);
      let id: string;
      try {
        id = decodeURIComponent(found.value.slice(0, dot));
      } catch {
        return { session: null, headers: null, refusal: null };
      }
      if (dot < 1 || !SECRET.test(secret) || !validId(id)) {
        return { session: null, headers: null, refusal: null };
      }
      const record = await get(id);
      const hash = record?.[SECRET_HASH_KEY];
      if (!record || typeof hash !== "string" || !hashesEqual(hash, hashSecret(secret))) {
        return { session: null, headers: null, refusal: null };
      }
      const expires = record.cookie?.expires;
      if (typeof expires === "string" && Date.parse(expires) <= Date.now()) {
        return { session: null, headers: null, refusal: null };
      }
      // A cross-site unsafe request may not ride the session cookie (the manager's rule).
      if (!sameSite(request)) return { session: null, headers: null, refusal: csrfRefusal() };
      return {
        session: { id, token: found.value, ...split(record) },
        headers: null,
        refusal: null,
      };
    },
    async write({ id, token, data, cookie, existing }) {
      if (id === null || token === null) throw new Error("store backend: sessions are named first");
      const hash = hashSecret(token.slice(token.lastIndexOf(".") + 1));
      if (existing) {
        // A session destroyed by another request (sign-out elsewhere) while this one ran must
        // not be written back: its cookie, perhaps a stolen one, would work again. The store's
        // calls are get and set, not compare-and-set: this narrows the race to the two calls.
        const current = await get(id);
        if (current?.[SECRET_HASH_KEY] !== hash) {
          return { id, headers: new Headers({ "set-cookie": clearing() }), gone: true };
        }
      }
      const record: StoredData = { cookie: cookie.data, ...data };
      record[SECRET_HASH_KEY] = hash;
      await bounded(timeout, (cb) => writes.set(id, record, cb));
      return { id, headers: null, gone: false };
    },
    async touch(id, data, cookie) {
      const touch = writes.touch;
      if (typeof touch !== "function") return;
      await bounded(timeout, (cb) => touch.call(store, id, { cookie: cookie.data, ...data }, cb));
    },
    async destroy(id) {
      await bounded(timeout, (cb) => store.destroy(id, cb));
      return new Headers({ "set-cookie": clearing() });
    },
    async reread(id) {
      const record = await get(id);
      return record ? split(record) : null;
    },
    pairOf: (token) => (token === null ? null : `${o.cookieName}=${token}`),
    cookieHeader(token, cookie) {
      // Only the lifetime and a checked SameSite or Priority come from the session's cookie
      // (stored, moved from express-session, or changed by a route): the rest is the
      // configuration's, which the name's prefix was checked against.
      const own = cookie.attributes();
      const sameSite = typeof own.sameSite === "string" && SAMESITE.has(own.sameSite);
      const priority = typeof own.priority === "string" && PRIORITY.has(own.priority);
      return serializeCookie(o.cookieName, token, {
        ...o.attributes,
        ...(own.expires === undefined ? {} : { expires: own.expires }),
        ...(sameSite && (own.sameSite !== "none" || o.secure) ? { sameSite: own.sameSite } : {}),
        ...(priority ? { priority: own.priority } : {}),
      });
    },
  };

  function clearing(): string {
    return serializeCookie(o.cookieName, "", { ...o.attributes, maxAge: 0 });
  }
}
