import { configError, SessionError } from "../errors.js";

/** Browsers drop cookies above 4096 bytes (name + value + attributes); we refuse to emit them. */
export const MAX_COOKIE_BYTES = 4096;

export type SameSite = "strict" | "lax" | "none";

export interface CookieAttributes {
  path?: string;
  domain?: string;
  maxAge?: number; // seconds
  secure?: boolean;
  httpOnly?: boolean;
  sameSite?: SameSite;
  partitioned?: boolean;
  /** An absolute end (express-session's `cookie.expires`), for cookies without `maxAge`. */
  expires?: Date;
  priority?: "low" | "medium" | "high";
}

// RFC 6265 token characters for names; cookie-octets for values.
const NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const VALUE = /^[\x21\x23-\x2B\x2D-\x3A\x3C-\x5B\x5D-\x7E]*$/;
const ATTRIBUTE_VALUE = /^[\x20-\x3A\x3C-\x7E]*$/;

/** Checks the `__Host-` and `__Secure-` prefix rules (RFC 6265bis §4.1.3). */
export function checkCookiePrefix(name: string, attributes: CookieAttributes): void {
  const lower = name.toLowerCase();
  if (lower.startsWith("__secure-") && !attributes.secure) {
    throw configError(`cookie ${name}: the __Secure- prefix requires Secure`);
  }
  if (lower.startsWith("__host-")) {
    if (!attributes.secure) throw configError(`cookie ${name}: the __Host- prefix requires Secure`);
    if (attributes.domain !== undefined) {
      throw configError(`cookie ${name}: the __Host- prefix forbids Domain`);
    }
    if ((attributes.path ?? "/") !== "/") {
      throw configError(`cookie ${name}: the __Host- prefix requires Path=/`);
    }
  }
  if (attributes.sameSite === "none" && !attributes.secure) {
    throw configError(`cookie ${name}: SameSite=None requires Secure`);
  }
  if (!NAME.test(name))
    throw configError(`cookie name ${JSON.stringify(name)} is not a valid token`);
  for (const key of ["path", "domain"] as const) {
    const value = attributes[key];
    if (value !== undefined && !ATTRIBUTE_VALUE.test(value)) {
      throw configError(`cookie ${name}: invalid ${key}`);
    }
  }
}

/**
 * Serialises one `Set-Cookie` value. Names and attributes were checked at construction;
 * the value is checked here, and a result over 4096 bytes throws `COOKIE_TOO_LARGE`
 * instead of being silently dropped by the browser.
 */
export function serializeCookie(name: string, value: string, attributes: CookieAttributes): string {
  if (!VALUE.test(value)) {
    throw new SessionError("CONFIG_INVALID", `cookie ${name}: value has characters not allowed`);
  }
  let out = `${name}=${value}`;
  if (attributes.domain !== undefined) out += `; Domain=${attributes.domain}`;
  out += `; Path=${attributes.path ?? "/"}`;
  if (attributes.maxAge !== undefined) {
    out += `; Max-Age=${Math.max(0, Math.floor(attributes.maxAge))}`;
    if (attributes.maxAge <= 0) out += "; Expires=Thu, 01 Jan 1970 00:00:00 GMT";
  } else if (attributes.expires !== undefined) {
    out += `; Expires=${attributes.expires.toUTCString()}`;
  }
  if (attributes.httpOnly) out += "; HttpOnly";
  if (attributes.secure) out += "; Secure";
  if (attributes.sameSite) {
    out += `; SameSite=${attributes.sameSite[0]?.toUpperCase()}${attributes.sameSite.slice(1)}`;
  }
  if (attributes.partitioned) out += "; Partitioned";
  if (attributes.priority) {
    out += `; Priority=${attributes.priority[0]?.toUpperCase()}${attributes.priority.slice(1)}`;
  }
  const bytes = Buffer.byteLength(out, "utf8");
  if (bytes > MAX_COOKIE_BYTES) {
    throw new SessionError(
      "COOKIE_TOO_LARGE",
      `cookie ${name} would be ${bytes} bytes; browsers drop cookies over ${MAX_COOKIE_BYTES}`,
    );
  }
  return out;
}
