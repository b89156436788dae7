import { findAuthCookie } from "../cookies/parse.js";
import type { FailureReason, RequestLike, Transport } from "./types.js";

export type Credential =
  | { ok: true; transport: Transport; token: string; scheme: Scheme }
  | { ok: false; transport: Transport | null; reason: FailureReason };

/** `bearer` for a cookie too: the DPoP scheme exists only in the Authorization header. */
export type Scheme = "bearer" | "dpop";

const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;
const DPOP = /^DPoP +([A-Za-z0-9\-._~+/]+=*) *$/i;
const MAX_TOKEN_CHARS = 8192;

/**
 * Reads the credential of a request: `Authorization: Bearer` (or `DPoP` when `acceptDpop`)
 * when the header transport is on and the header is present, otherwise the auth cookie. Never throws; a malformed or
 * ambiguous credential is a failure, not a fall-through to the other transport.
 */
export function readCredential(
  request: RequestLike,
  cookieName: string,
  transports: ReadonlySet<Transport>,
  acceptDpop = false,
): Credential {
  const headers = request.headers;
  if (transports.has("header")) {
    const authorization = headers.get("authorization");
    if (authorization !== null) {
      const fits = authorization.length <= MAX_TOKEN_CHARS;
      const bearer = fits ? BEARER.exec(authorization) : null;
      if (bearer?.[1]) return { ok: true, transport: "header", token: bearer[1], scheme: "bearer" };
      // Without DPoP configured, the scheme is as unknown as any other: malformed.
      const dpop = fits && acceptDpop ? DPOP.exec(authorization) : null;
      return dpop?.[1]
        ? { ok: true, transport: "header", token: dpop[1], scheme: "dpop" }
        : { ok: false, transport: "header", reason: "malformed" };
    }
  }
  if (transports.has("cookie")) {
    const cookie = findAuthCookie(headers.get("cookie"), cookieName);
    if (cookie.status === "found") {
      return cookie.value.length <= MAX_TOKEN_CHARS
        ? { ok: true, transport: "cookie", token: cookie.value, scheme: "bearer" }
        : { ok: false, transport: "cookie", reason: "malformed" };
    }
    if (cookie.status === "ambiguous") {
      return { ok: false, transport: "cookie", reason: "ambiguous_cookie" };
    }
  }
  return { ok: false, transport: null, reason: "missing" };
}
