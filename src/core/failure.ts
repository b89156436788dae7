import type { AuthFailure } from "./types.js";

export interface FailureAnswer {
  status: 401 | 403 | 503;
  /** The problem `code`: the same for every 401 except a verified token past its lifetime. */
  code: "unauthorized" | "session_expired" | "csrf_failed" | "store_unavailable";
  title: string;
  /** RFC 6750 challenge for header-transport clients. */
  wwwAuthenticate: string | null;
}

/** The failures that are not about credentials: one answer each, with no challenge. */
const NOT_401 = {
  403: { status: 403, code: "csrf_failed", title: "Cross-site request refused" },
  503: { status: 503, code: "store_unavailable", title: "Session store unavailable" },
} as const;

/**
 * How an authentication failure is answered over HTTP, in one place for every adapter: one
 * body for every 401 (no oracle telling forged from revoked from unknown), except
 * `session_expired` for a token that verified but is past its lifetime, so that clients know
 * to refresh or sign in again.
 *
 * @example
 * ```ts
 * import { failureAnswer, type SessionManager } from "sessionkit";
 *
 * declare const sessions: SessionManager;
 *
 * async function handle(request: Request): Promise<Response> {
 *   const { session, failure, headers } = await sessions.authenticate(request);
 *   if (!session) {
 *     const { status, code, title, wwwAuthenticate } = failureAnswer(failure);
 *     if (wwwAuthenticate) headers.set("www-authenticate", wwwAuthenticate);
 *     headers.set("content-type", "application/problem+json");
 *     return new Response(JSON.stringify({ status, code, title }), { status, headers });
 *   }
 *   return Response.json({ userId: session.userId }, { headers });
 * }
 * ```
 */
export function failureAnswer(failure: AuthFailure): FailureAnswer {
  if (failure.status !== 401) return { ...NOT_401[failure.status], wwwAuthenticate: null };
  const expired = failure.reason === "expired";
  const bearer =
    failure.reason === "missing"
      ? "Bearer"
      : `Bearer error="invalid_token"${expired ? ', error_description="expired"' : ""}`;
  // With DPoP on, both schemes are offered (RFC 9449 §7.1), except for a failure of DPoP
  // itself, which is answered with its own challenge alone.
  const dpopFailure = failure.reason.startsWith("dpop_");
  const challenge =
    failure.transport !== "header"
      ? null
      : failure.challenge === undefined
        ? bearer
        : dpopFailure
          ? failure.challenge
          : `${bearer}, ${failure.challenge}`;
  return {
    status: 401,
    code: expired ? "session_expired" : "unauthorized",
    title: expired ? "Session expired" : "Authentication required",
    wwwAuthenticate: challenge,
  };
}
