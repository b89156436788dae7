import type { CookiePolicy } from "../cookies/policy.js";
import type { Transport } from "./types.js";

/** Header that carries a new or renewed token to header-transport clients. */
export const RENEWED_TOKEN_HEADER = "x-session-token";

/**
 * How a new token reaches its client, for every strategy: a `Set-Cookie` living until the
 * session's absolute expiry (cookie transport) or `RENEWED_TOKEN_HEADER` (header transport).
 * Never cached: a shared cache would hand one client's token to another.
 */
export function tokenHeaders(cookies: CookiePolicy, cookieName: string) {
  return (token: string, transport: Transport, absoluteExpiresAt: number, now: number) => {
    const headers = new Headers({ "cache-control": "no-store" });
    if (transport === "cookie") {
      headers.append("set-cookie", cookies.set(cookieName, token, absoluteExpiresAt - now));
    } else {
      headers.set(RENEWED_TOKEN_HEADER, token);
    }
    return headers;
  };
}
