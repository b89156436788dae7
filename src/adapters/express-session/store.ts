import { EventEmitter } from "node:events";
import type { CookieJson } from "./cookie.js";

/** A session as an express-session store keeps it: the data and its `cookie`. */
export type StoredData = { cookie?: CookieJson; [key: string]: unknown };
type Callback<T = void> = (error?: unknown, value?: T) => void;

/**
 * express-session's store interface, which connect-redis, connect-pg-simple and the other
 * `connect-*` stores implement. `touch`, `all`, `length` and `clear` are optional there too.
 */
export interface ExpressSessionStore {
  get(sid: string, callback: (error: unknown, data?: StoredData | null) => void): void;
  /**
   * `data` is a `StoredData`; typed `never` here so that stores typed against
   * @types/express-session (whose `cookie` is its `Cookie` class) are accepted as they are.
   */
  set(sid: string, data: never, callback?: (error?: unknown) => void): void;
  destroy(sid: string, callback?: (error?: unknown) => void): void;
  touch?(sid: string, data: never, callback?: (error?: unknown) => void): void;
}

/**
 * The store's writes as this layer makes them, with a `StoredData`. Any `ExpressSessionStore`
 * is one as it is: a method's parameter is compared both ways, and `never` fits `StoredData`.
 */
export interface StoreWrites {
  set(sid: string, data: StoredData, callback?: (error?: unknown) => void): void;
  touch?(sid: string, data: StoredData, callback?: (error?: unknown) => void): void;
}

/** An express-session store's base (what `session.Store` gives to stores that extend it). */
export interface Store extends EventEmitter {
  /** Reads a session (express-session's helper over `get`). */
  load(sid: string, callback: Callback<StoredData>): void;
}

/**
 * The base class stores extend: `class RedisStore extends session.Store`, connect-redis ≤ 6's
 * `require("connect-redis")(session)`, and the older `Store.call(this)` with `util.inherits`,
 * which is why it is a constructor function rather than a class. An EventEmitter as in
 * express-session: a store that emits `disconnect` makes requests run without a session until
 * it emits `connect`.
 *
 * @example
 * ```ts
 * import express from "express";
 * import session, { Store, type StoredData } from "sessionkit/adapters/express-session";
 *
 * type Callback = (error?: unknown) => void;
 *
 * class MapStore extends Store {
 *   readonly #sessions = new Map<string, StoredData>();
 *   get(sid: string, callback: (error: unknown, data?: StoredData | null) => void) {
 *     callback(null, this.#sessions.get(sid) ?? null);
 *   }
 *   set(sid: string, data: StoredData, callback?: Callback) {
 *     this.#sessions.set(sid, data);
 *     callback?.();
 *   }
 *   destroy(sid: string, callback?: Callback) {
 *     this.#sessions.delete(sid);
 *     callback?.();
 *   }
 * }
 *
 * const app = express();
 * app.use(session({ store: new MapStore(), resave: false, saveUninitialized: false }));
 * ```
 */
export const Store = function Store(this: EventEmitter) {
  EventEmitter.call(this);
} as unknown as { new (): Store; prototype: Store };
Object.setPrototypeOf(Store.prototype, EventEmitter.prototype);
Object.setPrototypeOf(Store, EventEmitter);
Store.prototype.load = function load(this: Store, sid: string, callback: Callback<StoredData>) {
  (this as unknown as ExpressSessionStore).get(sid, (error, data) => {
    if (error) return callback(error);
    callback(undefined, data ?? undefined);
  });
};

const defer = (fn: () => void) => setImmediate(fn);

/**
 * express-session's `MemoryStore`, for tests and one-process development: sessions as JSON in
 * this process, dropped when their cookie expires. Production wants a shared store: pass one
 * of sessionkit's (`sessionkit/stores/*`) or any `connect-*` store.
 *
 * @example
 * ```ts
 * import express from "express";
 * import session, { MemoryStore } from "sessionkit/adapters/express-session";
 *
 * const app = express();
 * // Development and tests only: one process, sessions lost on restart.
 * app.use(session({ store: new MemoryStore(), resave: false, saveUninitialized: false }));
 * ```
 */
export class MemoryStore extends Store {
  sessions: Record<string, string> = Object.create(null);

  get(sid: string, callback: (error: unknown, data?: StoredData | null) => void): void {
    const data = this.#read(sid);
    defer(() => callback(null, data));
  }

  set(sid: string, data: StoredData, callback?: Callback): void {
    this.sessions[sid] = JSON.stringify(data);
    if (callback) defer(() => callback());
  }

  destroy(sid: string, callback?: Callback): void {
    delete this.sessions[sid];
    if (callback) defer(() => callback());
  }

  touch(sid: string, data: StoredData, callback?: Callback): void {
    const current = this.#read(sid);
    if (current && data.cookie) {
      current.cookie = data.cookie;
      this.sessions[sid] = JSON.stringify(current);
    }
    if (callback) defer(() => callback());
  }

  all(callback: Callback<Record<string, StoredData>>): void {
    const out: Record<string, StoredData> = {};
    for (const sid of Object.keys(this.sessions)) {
      const data = this.#read(sid);
      if (data) out[sid] = data;
    }
    defer(() => callback(null, out));
  }

  length(callback: Callback<number>): void {
    this.all((error, all) => callback(error, all ? Object.keys(all).length : 0));
  }

  clear(callback?: Callback): void {
    this.sessions = Object.create(null);
    if (callback) defer(() => callback());
  }

  /** The session, or `null` once its cookie has expired (then it is dropped). */
  #read(sid: string): StoredData | null {
    const text = this.sessions[sid];
    if (text === undefined) return null;
    const data = JSON.parse(text) as StoredData;
    const expires = data.cookie?.expires;
    if (typeof expires === "string" && Date.parse(expires) <= Date.now()) {
      delete this.sessions[sid];
      return null;
    }
    return data;
  }
}
