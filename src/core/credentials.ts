import { findAuthCookie } from "../cookies/parse.js";
import type { FailureReason, RequestLike, Transport } from "./types.js";

export type Credential =
  | { ok: true; transport: Transport; token: string }
  | { ok: false; transport: Transport | null; reason: FailureReason };

const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;
const MAX_TOKEN_CHARS = 8192;

/**
 * Reads the credential of a request: `Authorization: Bearer` when the header transport is on
 * and the header is present, otherwise the auth cookie. Never throws; a malformed or
 * ambiguous credential is a failure, not a fall-through to the other transport.
 */
export function readCredential(
  request: RequestLike,
  cookieName: string,
  transports: ReadonlySet<Transport>,
): Credential {
  const headers = request.headers;
  if (transports.has("header")) {
    const authorization = headers.get("authorization");
    if (authorization !== null) {
      const match = authorization.length <= MAX_TOKEN_CHARS ? BEARER.exec(authorization) : null;
      return match?.[1]
        ? { ok: true, transport: "header", token: match[1] }
        : { ok: false, transport: "header", reason: "malformed" };
    }
  }
  if (transports.has("cookie")) {
    const cookie = findAuthCookie(headers.get("cookie"), cookieName);
    if (cookie.status === "found") {
      return cookie.value.length <= MAX_TOKEN_CHARS
        ? { ok: true, transport: "cookie", token: cookie.value }
        : { ok: false, transport: "cookie", reason: "malformed" };
    }
    if (cookie.status === "ambiguous") {
      return { ok: false, transport: "cookie", reason: "ambiguous_cookie" };
    }
  }
  return { ok: false, transport: null, reason: "missing" };
}
