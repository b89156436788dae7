import { type CookieAttributes, serializeCookie } from "../../cookies/serialize.js";

export type SameSiteOption = boolean | "lax" | "strict" | "none";
export type Priority = "low" | "medium" | "high";

/** express-session's cookie options (`cookie: {...}`), as an app passes them. */
export interface CookieOptions {
  maxAge?: number | null;
  expires?: Date | null;
  path?: string;
  domain?: string;
  secure?: boolean;
  httpOnly?: boolean;
  sameSite?: SameSiteOption;
  partitioned?: boolean;
  priority?: Priority;
}

/** The cookie as a store keeps it (express-session's JSON shape, read by connect-* stores). */
export interface CookieJson {
  originalMaxAge: number | null;
  expires: string | null;
  path: string;
  httpOnly: boolean;
  secure?: boolean;
  domain?: string;
  sameSite?: SameSiteOption;
  partitioned?: boolean;
  priority?: Priority;
}

const toDate = (value: unknown): Date | null => {
  if (value === null || value === undefined) return null;
  const date = value instanceof Date ? value : new Date(String(value));
  return Number.isNaN(date.getTime()) ? null : date;
};

/**
 * `req.session.cookie`: the session's lifetime as express-session models it. `maxAge` counts
 * down to `expires`; `null` is a browser-session cookie. Changing `maxAge` or `expires` on one
 * session ("remember me") changes that session's cookie and its end in the store.
 *
 * @example
 * ```ts
 * import "express-session"; // the type of req.session, from DefinitelyTyped
 * import express from "express";
 * import session, { Cookie } from "sessionkit/adapters/express-session";
 *
 * const app = express();
 * app.use(express.json(), session({ saveUninitialized: false, cookie: { maxAge: 30 * 60_000 } }));
 * app.post("/remember-me", (req, res) => {
 *   req.session.cookie.maxAge = 30 * 86_400_000; // this session only: 30 days
 *   res.status(204).end();
 * });
 *
 * const cookie = new Cookie({ maxAge: 60_000, sameSite: "lax" }); // what req.session.cookie is
 * console.log(cookie.expires); // a minute from now
 * ```
 */
export class Cookie {
  path = "/";
  httpOnly = true;
  secure?: boolean;
  domain?: string;
  sameSite?: SameSiteOption;
  partitioned?: boolean;
  priority?: Priority;
  originalMaxAge: number | null = null;
  #expires: Date | null = null;

  constructor(options: CookieOptions | CookieJson = {}) {
    const { maxAge, expires, originalMaxAge, ...attributes } = options as CookieOptions & {
      originalMaxAge?: number | null;
    };
    // Only the attributes a cookie has: a stored record's other keys stay out of the object.
    for (const key of [
      "path",
      "httpOnly",
      "secure",
      "domain",
      "sameSite",
      "partitioned",
    ] as const) {
      if (attributes[key] !== undefined) Object.assign(this, { [key]: attributes[key] });
    }
    if (attributes.priority !== undefined) this.priority = attributes.priority;
    if (expires !== undefined) this.expires = toDate(expires);
    if (typeof maxAge === "number") this.maxAge = maxAge;
    if (typeof originalMaxAge === "number") this.originalMaxAge = originalMaxAge;
  }

  get expires(): Date | null {
    return this.#expires;
  }
  set expires(value: Date | null) {
    if (value !== null && !(value instanceof Date && !Number.isNaN(value.getTime()))) {
      throw new TypeError("cookie.expires must be a valid Date or null");
    }
    this.#expires = value;
    this.originalMaxAge = this.maxAge;
  }

  /** Milliseconds left, or `null` for a browser-session cookie. */
  get maxAge(): number | null {
    return this.#expires === null ? null : this.#expires.getTime() - Date.now();
  }
  set maxAge(ms: number | Date | null) {
    if (ms !== null && typeof ms !== "number" && !(ms instanceof Date)) {
      throw new TypeError("cookie.maxAge must be a number of ms or null");
    }
    this.expires = typeof ms === "number" ? new Date(Date.now() + ms) : ms;
  }

  get data(): CookieJson {
    const json: CookieJson = {
      originalMaxAge: this.originalMaxAge,
      expires: this.#expires === null ? null : this.#expires.toISOString(),
      path: this.path,
      httpOnly: this.httpOnly,
    };
    for (const key of ["secure", "domain", "sameSite", "partitioned", "priority"] as const) {
      if (this[key] !== undefined) Object.assign(json, { [key]: this[key] });
    }
    return json;
  }

  toJSON(): CookieJson {
    return this.data;
  }

  /** `Set-Cookie` for `name=value` with this cookie's attributes (express-session's API). */
  serialize(name: string, value: string): string {
    return serializeCookie(name, encodeURIComponent(value), this.attributes());
  }

  /** The attributes as sessionkit's serializer takes them. */
  attributes(): CookieAttributes {
    const sameSite = this.sameSite === true ? "strict" : this.sameSite || undefined;
    return {
      path: this.path,
      httpOnly: this.httpOnly,
      ...(this.secure ? { secure: true } : {}),
      ...(this.domain === undefined ? {} : { domain: this.domain }),
      ...(sameSite === undefined ? {} : { sameSite }),
      ...(this.partitioned ? { partitioned: true } : {}),
      ...(this.priority === undefined ? {} : { priority: this.priority }),
      ...(this.#expires === null ? {} : { expires: this.#expires }),
    };
  }
}
