import { failureAnswer } from "../core/failure.js";
import type { SessionManager } from "../core/manager.js";
import type { AuthFailure, Session } from "../core/types.js";
import { isSessionError } from "../errors.js";
import type { JsonObject } from "../stores/types.js";

/** RFC 9457 problem details with a stable `code` member. */
export function problem(
  status: number,
  code: string,
  title: string,
  headers: Headers | Record<string, string> = {},
): Response {
  const out = new Headers(headers);
  out.set("content-type", "application/problem+json");
  out.set("cache-control", "no-store");
  return new Response(JSON.stringify({ type: "about:blank", title, status, code }), {
    status,
    headers: out,
  });
}

/**
 * The one answer to every failed authentication: the same body whatever the reason (no
 * verification oracle). Header-transport clients get RFC 6750 `WWW-Authenticate`.
 */
export function failureResponse(failure: AuthFailure, headers: Headers = new Headers()): Response {
  const answer = failureAnswer(failure);
  if (answer.wwwAuthenticate) headers.set("www-authenticate", answer.wwwAuthenticate);
  if (answer.status === 503) headers.set("retry-after", "1");
  return problem(answer.status, answer.code, answer.title, headers);
}

/** Copies session headers (`Set-Cookie`, `Cache-Control`, renewed tokens) onto a response. */
export function applyHeaders(response: Response, headers: Headers): Response {
  const setCookies = headers.getSetCookie();
  headers.forEach((value, name) => {
    if (name === "set-cookie") return;
    response.headers.set(name, value);
  });
  for (const cookie of setCookies) {
    response.headers.append("set-cookie", cookie);
  }
  return response;
}

export type FetchHandler<Data extends JsonObject> = (
  request: Request,
  session: Session<Data>,
) => Response | Promise<Response>;

/**
 * Wraps a Fetch handler so that it only runs for an authenticated request: failures answer
 * 401/403 as above, a store outage answers 503, and renewal headers reach the response.
 */
export function requireSession<Data extends JsonObject>(
  manager: SessionManager<Data>,
  handler: FetchHandler<Data>,
): (request: Request) => Promise<Response> {
  return async (request) => {
    let result: Awaited<ReturnType<SessionManager<Data>["authenticate"]>>;
    try {
      result = await manager.authenticate(request);
    } catch (error) {
      if (isSessionError(error, "STORE_UNAVAILABLE")) {
        return problem(503, "store_unavailable", "Session store unavailable", {
          "retry-after": "1",
        });
      }
      throw error;
    }
    if (!result.session) return failureResponse(result.failure, result.headers);
    return applyHeaders(await handler(request, result.session), result.headers);
  };
}
