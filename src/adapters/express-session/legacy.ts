import { createHmac, timingSafeEqual } from "node:crypto";
import type { Request } from "express";
import { parseCookieHeader } from "../../cookies/parse.js";
import { configError } from "../../errors.js";
import type { JsonObject } from "../../stores/types.js";
import type { CookieJson } from "./cookie.js";
import type { StoredData } from "./store.js";
import { bounded } from "./store-backend.js";

/** What sessionkit needs of the old express-session store (connect-redis, MemoryStore, ...). */
export interface LegacyStore {
  get(sid: string, callback: (error: unknown, data?: StoredData | null) => void): void;
  destroy?(sid: string, callback: (error?: unknown) => void): void;
}

export interface LegacyOptions {
  /** The secret(s) express-session signed its cookie with. */
  secret: string | Buffer | Array<string | Buffer>;
  store: LegacyStore;
  /** The old cookie's name. Default `connect.sid`. */
  name?: string;
}

/**
 * Unsigns an express-session cookie value (`s:<sid>.<HMAC-SHA256, base64 unpadded>`).
 *
 * @example
 * ```ts
 * import { unsignLegacyCookie } from "sessionkit/adapters/express-session";
 *
 * declare const oldCookie: string; // the connect.sid value, as the browser sent it
 *
 * const sid = unsignLegacyCookie(oldCookie, ["current secret", "previous secret"]);
 * console.log(sid ?? "not signed with any of these secrets");
 * ```
 */
export function unsignLegacyCookie(
  value: string,
  secrets: ReadonlyArray<string | Buffer>,
): string | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(value);
  } catch {
    return null;
  }
  if (!decoded.startsWith("s:")) return null;
  const dot = decoded.lastIndexOf(".");
  if (dot < 3) return null;
  const sid = decoded.slice(2, dot);
  const given = Buffer.from(decoded.slice(dot + 1));
  for (const secret of secrets) {
    const expected = Buffer.from(
      createHmac("sha256", secret).update(sid).digest("base64").replace(/=+$/, ""),
    );
    if (expected.length === given.length && timingSafeEqual(expected, given)) return sid;
  }
  return null;
}

export interface LegacySession {
  sid: string;
  data: JsonObject;
  cookie: CookieJson | null;
}

/**
 * Reads a session express-session signed in: its cookie checked with the old secret(s), its
 * data from the old store. Returns `forget`, which deletes it there once it has moved.
 */
export function legacyReader(legacy: LegacyOptions, timeout: number) {
  const secrets = [legacy.secret].flat();
  if (secrets.length === 0) {
    throw configError(
      "express-session compat: secret option array must contain one or more strings",
    );
  }
  if (secrets.some((s) => !(typeof s === "string" || Buffer.isBuffer(s)) || s.length === 0)) {
    throw configError(
      "express-session compat: secret must be a non-empty string or Buffer (or a list)",
    );
  }
  if (typeof legacy.store?.get !== "function") {
    throw configError("express-session compat: legacy.store must be an express-session store");
  }
  const name = legacy.name ?? "connect.sid";
  return {
    name,
    /** `Set-Cookie` that removes the old cookie. */
    clear: `${name}=; Path=/; Max-Age=0; HttpOnly`,
    /** The old session's id, if the request carries an old cookie signed with the secret. */
    sidOf(req: Request): string | null {
      const raw = parseCookieHeader(req.headers.cookie).find(([n]) => n === name)?.[1];
      return raw ? unsignLegacyCookie(raw, secrets) : null;
    },
    async read(sid: string): Promise<LegacySession | null> {
      const stored = await bounded<StoredData | null>(timeout, (cb) => legacy.store.get(sid, cb));
      if (!stored) return null;
      const { cookie, ...rest } = stored;
      // As JSON, which is how the old store held it (and all a sessionkit store keeps).
      const data = JSON.parse(JSON.stringify(rest)) as JsonObject;
      return { sid, data, cookie: (cookie as CookieJson | undefined) ?? null };
    },
    forget(sid: string): Promise<unknown> {
      const destroy = legacy.store.destroy;
      if (typeof destroy !== "function") return Promise.resolve();
      return bounded(timeout, (cb) => destroy.call(legacy.store, sid, cb)).catch(() => {
        // The old record expires by itself; the session has moved either way.
      });
    },
  };
}
