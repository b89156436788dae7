import { configError } from "../errors.js";
import {
  type CookieAttributes,
  checkCookiePrefix,
  type SameSite,
  serializeCookie,
} from "./serialize.js";

export interface CookieNames {
  /** `id` strategy session token. */
  session: string;
  /** `jwt` strategy token. */
  jwt: string;
  /** `hybrid` access token. */
  access: string;
  /** CSRF double-submit token (readable by page scripts by design). */
  csrf: string;
  /** `hybrid` refresh token, sent only to the refresh route (`Path`), so never `__Host-`. */
  refresh: string;
  /**
   * `hybrid`: the `__Host-` cookie that binds the refresh cookie to the browser it was issued
   * to. A sibling host can plant a `__Secure-` cookie, never a `__Host-` one, so a planted
   * refresh cookie arrives without its binding and is refused.
   */
  refreshBinding: string;
}

export interface CookieOptions {
  /** Default `true`. Only turn off for plain-HTTP development on a host other than localhost. */
  secure?: boolean;
  sameSite?: SameSite;
  /** Setting a domain forbids the `__Host-` prefix; names fall back to `__Secure-`. */
  domain?: string;
  names?: Partial<CookieNames>;
  /** The path the refresh cookie is sent to. Default `"/api/hybrid/refresh"`. */
  refreshPath?: string;
}

export interface CookiePolicy {
  names: CookieNames;
  /** Attributes of auth cookies (HttpOnly). */
  auth: CookieAttributes;
  /** Attributes of the CSRF cookie (script-readable, otherwise the same). */
  csrf: CookieAttributes;
  /** Attributes of the refresh cookie (path-scoped to the refresh route). */
  refresh: CookieAttributes;
  /** `Set-Cookie` for an auth cookie, `Max-Age` clamped to what the session has left. */
  set(name: string, value: string, maxAgeMs: number): string;
  clear(name: string): string;
}

const BASE_NAMES: CookieNames = {
  session: "sid",
  jwt: "jwt",
  access: "at",
  csrf: "csrf",
  refresh: "rt",
  refreshBinding: "rtb",
};

/** Normalises cookie options once; every rule violation throws `CONFIG_INVALID` here. */
export function createCookiePolicy(options: CookieOptions = {}): CookiePolicy {
  const secure = options.secure ?? true;
  const sameSite = options.sameSite ?? "lax";
  if (!["strict", "lax", "none"].includes(sameSite)) {
    throw configError(`cookie.sameSite must be "strict", "lax" or "none"`);
  }
  const prefix = !secure ? "" : options.domain === undefined ? "__Host-" : "__Secure-";
  const names = { ...BASE_NAMES };
  for (const key of Object.keys(names) as Array<keyof CookieNames>) {
    // The refresh cookie is path-scoped, which __Host- forbids; __Secure- still pins Secure.
    const ownPrefix = key === "refresh" && prefix === "__Host-" ? "__Secure-" : prefix;
    names[key] = options.names?.[key] ?? `${ownPrefix}${BASE_NAMES[key]}`;
  }
  const lowerNames = new Set(Object.values(names).map((n) => n.toLowerCase()));
  if (lowerNames.size !== Object.keys(names).length) {
    throw configError("cookie.names must be distinct (case-insensitively)");
  }
  const auth: CookieAttributes = {
    path: "/",
    secure,
    httpOnly: true,
    sameSite,
    ...(options.domain === undefined ? {} : { domain: options.domain }),
  };
  const csrf: CookieAttributes = { ...auth, httpOnly: false };
  const refreshPath = options.refreshPath ?? "/api/hybrid/refresh";
  if (!refreshPath.startsWith("/")) throw configError("cookie.refreshPath must start with /");
  const refresh: CookieAttributes = { ...auth, path: refreshPath };
  for (const [key, name] of Object.entries(names))
    checkCookiePrefix(name, key === "refresh" ? refresh : auth);

  return {
    names,
    auth,
    csrf,
    refresh,
    set(name, value, maxAgeMs) {
      const attributes = name === names.csrf ? csrf : name === names.refresh ? refresh : auth;
      return serializeCookie(name, value, { ...attributes, maxAge: Math.floor(maxAgeMs / 1000) });
    },
    clear(name) {
      const attributes = name === names.csrf ? csrf : name === names.refresh ? refresh : auth;
      return serializeCookie(name, "", { ...attributes, maxAge: 0 });
    },
  };
}
