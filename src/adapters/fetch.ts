import type { DeviceAnswer } from "../core/device-bound.js";
import type { SessionManager } from "../core/manager.js";
import type { AuthFailure, CreateInput, IssuedSession, Session } from "../core/types.js";
import type { JsonObject } from "../stores/types.js";
import {
  AUTHENTICATED_CACHE_CONTROL,
  authenticateOutcome,
  problemBody,
  type Refusal,
  refusalFor,
  refusalOf,
  signInFrom,
  unauthorizedRefusal,
  userSession,
  withMutableHeaders,
} from "./outcome.js";

/**
 * RFC 9457 problem details with a stable `code` member.
 *
 * @example
 * ```ts
 * import { problem } from "sessionkit/adapters/fetch";
 *
 * const tooMany = problem(429, "too_many_requests", "Too many attempts", { "retry-after": "60" });
 * ```
 */
export function problem(
  status: number,
  code: string,
  title: string,
  headers: Headers | Record<string, string> = {},
): Response {
  const out = new Headers(headers);
  out.set("content-type", "application/problem+json");
  out.set("cache-control", "no-store");
  return new Response(problemBody({ status, code, title }), { status, headers: out });
}

/**
 * The one answer to every failed authentication: the same body whatever the reason (no
 * verification oracle). Header-transport clients get RFC 6750 `WWW-Authenticate`.
 *
 * @example
 * ```ts
 * import type { SessionManager } from "sessionkit";
 * import { applyHeaders, failureResponse } from "sessionkit/adapters/fetch";
 *
 * declare const sessions: SessionManager;
 *
 * async function me(request: Request): Promise<Response> {
 *   const { session, failure, headers } = await sessions.authenticate(request);
 *   if (!session) return failureResponse(failure, headers); // 401, 403 or 503
 *   return applyHeaders(Response.json({ userId: session.userId }), headers);
 * }
 * ```
 */
export function failureResponse(failure: AuthFailure, headers: Headers = new Headers()): Response {
  return refusalResponse(refusalFor(failure), headers);
}

/**
 * Copies session headers (`Set-Cookie`, `Cache-Control`, renewed tokens) onto a response.
 *
 * @example
 * ```ts
 * import type { SessionManager } from "sessionkit";
 * import { applyHeaders } from "sessionkit/adapters/fetch";
 *
 * declare const sessions: SessionManager;
 *
 * async function refresh(request: Request): Promise<Response> {
 *   const { session, headers } = await sessions.refresh(request); // hybrid
 *   return applyHeaders(Response.json({ ok: session !== null }), headers);
 * }
 * ```
 */
export function applyHeaders(response: Response, headers: Headers | null): Response {
  if (headers === null) return response;
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

/**
 * A refusal as a problem details response, after the session headers of the request.
 *
 * @example
 * ```ts
 * import { refusalResponse } from "sessionkit/adapters/fetch";
 *
 * // The same shape as the library's own refusals: problem+json, no-store.
 * const closed = refusalResponse({
 *   status: 503,
 *   code: "store_unavailable",
 *   title: "Session store unavailable",
 *   headers: new Headers({ "retry-after": "1" }),
 * });
 * ```
 */
export function refusalResponse(refusal: Refusal, headers: Headers = new Headers()): Response {
  const out = new Headers(headers);
  refusal.headers.forEach((value, name) => {
    out.set(name, value);
  });
  return problem(refusal.status, refusal.code, refusal.title, out);
}

export type FetchHandler<Data extends JsonObject> = (
  request: Request,
  session: Session<Data>,
) => Response | Promise<Response>;

/**
 * Wraps a Fetch handler (a Next.js route handler, a Worker, Bun or Deno) so that it only runs
 * for an authenticated request: failures answer 401/403 as above, a store outage answers
 * 503, and renewal headers reach the response, with `Cache-Control: no-store` unless the
 * handler set its own.
 *
 * @example
 * ```ts
 * import type { SessionManager } from "sessionkit";
 * import { requireSession } from "sessionkit/adapters/fetch";
 *
 * declare const sessions: SessionManager;
 *
 * // A Worker, Bun or Deno: the handler runs only for a signed-in user.
 * export default {
 *   fetch: requireSession(sessions, (_request, session) =>
 *     Response.json({ userId: session.userId }),
 *   ),
 * };
 * ```
 */
export function requireSession<Data extends JsonObject>(
  manager: SessionManager<Data>,
  handler: FetchHandler<Data>,
): (request: Request) => Promise<Response> {
  return async (request) => {
    const pending = authenticateOutcome(manager, request);
    const outcome = pending instanceof Promise ? await pending : pending;
    const session = userSession(outcome.session);
    if (!session) {
      return refusalResponse(
        outcome.refusal ?? unauthorizedRefusal(),
        outcome.headers ?? undefined,
      );
    }
    const response = await handler(request, session);
    return withMutableHeaders(response, (r) => authenticatedHeaders(r, outcome.headers));
  };
}

/** The session's headers, and `no-store` unless the handler chose its own `Cache-Control`. */
function authenticatedHeaders(response: Response, headers: Headers | null): Response {
  applyHeaders(response, headers);
  if (!response.headers.has("cache-control")) {
    response.headers.set("cache-control", AUTHENTICATED_CACHE_CONTROL);
  }
  return response;
}

/**
 * Signs the user in from a Fetch request; put `issued.headers` on the response. A cross-site
 * sign-in throws a `CSRF_FAILED` error (see `sessionErrorResponse`).
 *
 * @example
 * ```ts
 * import type { SessionManager } from "sessionkit";
 * import { applyHeaders, sessionErrorResponse, signIn } from "sessionkit/adapters/fetch";
 *
 * declare const sessions: SessionManager;
 * declare function checkPassword(form: FormData): Promise<string | null>; // yours
 *
 * async function login(request: Request): Promise<Response> {
 *   const userId = await checkPassword(await request.formData());
 *   if (!userId) return new Response("wrong username or password", { status: 401 });
 *   try {
 *     const { headers } = await signIn(sessions, request, { userId });
 *     return applyHeaders(Response.json({ userId }), headers);
 *   } catch (error) {
 *     return sessionErrorResponse(error) ?? new Response("Server error", { status: 500 });
 *   }
 * }
 * ```
 */
export function signIn<Data extends JsonObject>(
  manager: SessionManager<Data>,
  request: Request,
  input: Omit<CreateInput<Data>, "request">,
): Promise<IssuedSession<Data>> {
  return signInFrom(manager, request, input);
}

/**
 * sessionkit's errors as problem responses (503, 403); `null` for any other error.
 *
 * @example
 * ```ts
 * import type { SessionManager } from "sessionkit";
 * import { applyHeaders, sessionErrorResponse } from "sessionkit/adapters/fetch";
 *
 * declare const sessions: SessionManager;
 *
 * async function logout(request: Request): Promise<Response> {
 *   try {
 *     const { headers } = await sessions.logout(request);
 *     return applyHeaders(new Response(null, { status: 204 }), headers);
 *   } catch (error) {
 *     // 403 for a cross-site sign-out, 503 while the store is unreachable
 *     return sessionErrorResponse(error) ?? new Response("Server error", { status: 500 });
 *   }
 * }
 * ```
 */
export function sessionErrorResponse(error: unknown): Response | null {
  const refusal = refusalOf(error);
  return refusal ? refusalResponse(refusal) : null;
}

/**
 * DBSC's two endpoints (`deviceBound` option) as Fetch handlers, for Hono, Bun, Deno or
 * Workers: `app.post("/dbsc/register", (c) => dbsc.register(c.req.raw))`.
 *
 * @example
 * ```ts
 * import type { SessionManager } from "sessionkit";
 * import { deviceEndpoints } from "sessionkit/adapters/fetch";
 *
 * declare const sessions: SessionManager; // with the deviceBound option
 *
 * const dbsc = deviceEndpoints(sessions);
 * export default {
 *   fetch(request: Request): Promise<Response> | Response {
 *     const { pathname } = new URL(request.url);
 *     if (pathname === "/dbsc/register") return dbsc.register(request);
 *     if (pathname === "/dbsc/refresh") return dbsc.refresh(request);
 *     return new Response("not found", { status: 404 });
 *   },
 * };
 * ```
 */
export function deviceEndpoints<Data extends JsonObject>(manager: SessionManager<Data>) {
  const respond = (answer: DeviceAnswer): Response =>
    new Response(answer.body, { status: answer.status, headers: answer.headers });
  return {
    register: async (request: Request): Promise<Response> =>
      respond(await manager.registerDevice(request)),
    refresh: async (request: Request): Promise<Response> =>
      respond(await manager.refreshDevice(request)),
  };
}
