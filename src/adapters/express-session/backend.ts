import type { Request } from "express";
import type { RequestLike } from "../../core/types.js";
import type { JsonObject } from "../../stores/types.js";
import type { Refusal } from "../outcome.js";
import type { Cookie, CookieJson } from "./cookie.js";

/** A session read from the request's cookie. */
export interface LoadedSession {
  id: string;
  /** The cookie value that names it, when the layer sets the cookie itself (store backend). */
  token: string | null;
  data: JsonObject;
  /** The cookie as stored (store backend); `null` when the manager owns the cookie. */
  cookie: CookieJson | null;
}

export interface WriteInput {
  /** `null`: a session not stored yet that the backend names as it creates it (manager). */
  id: string | null;
  /** It was stored before this request (not new): it must still be there to be written. */
  existing: boolean;
  token: string | null;
  data: JsonObject;
  cookie: Cookie;
  userId: string | null;
  req: Request;
  request: RequestLike;
}

/**
 * Where the compatibility layer keeps sessions: an express-session store (any `connect-*`
 * store, or this module's MemoryStore) or a sessionkit manager. The middleware holds
 * express-session's rules (when to save, touch, set the cookie); a backend only reads and writes.
 * Store failures reject with `STORE_UNAVAILABLE`, within the backend's time bound.
 */
export interface Backend {
  /** The session the request's cookie names, or a refusal (403) or none; headers to set. */
  load(
    req: Request,
    request: RequestLike,
  ): Promise<{ session: LoadedSession | null; headers: Headers | null; refusal: Refusal | null }>;
  /** An id and cookie value for a session not stored yet, or `null` if named at creation. */
  fresh(req: Request): { id: string; token: string } | null;
  /** `gone`: the session ended meanwhile (revoked elsewhere) and was not written back. */
  write(input: WriteInput): Promise<{ id: string; headers: Headers | null; gone: boolean }>;
  /** Slides the stored expiry without rewriting the data (stores that implement `touch`). */
  touch(id: string, data: JsonObject, cookie: Cookie): Promise<void>;
  /** Ends a stored session; headers that clear its cookie. */
  destroy(id: string, request: RequestLike): Promise<Headers | null>;
  /** Reads a stored session's data again (`reload`), or `null` if it is gone. */
  reread(id: string): Promise<{ data: JsonObject; cookie: CookieJson | null } | null>;
  /** The cookie (`name=value`) that names a session just written, from its token or headers. */
  pairOf(token: string | null, headers: Headers | null): string | null;
  /** `Set-Cookie` for a session's cookie when the layer sets it itself, else `null`. */
  cookieHeader(token: string, cookie: Cookie): string | null;
  /** The CSRF rule: may this request change state with the session cookie (or start one)? */
  sameSite(request: RequestLike): boolean;
  /** `false` while an express-session store says it is disconnected. */
  online(): boolean;
}
