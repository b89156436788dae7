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
  return new Response(problemBody({ status, code, title }), { status, headers: out });
}

/**
 * The one answer to every failed authentication: the same body whatever the reason (no
 * verification oracle). Header-transport clients get RFC 6750 `WWW-Authenticate`.
 */
export function failureResponse(failure: AuthFailure, headers: Headers = new Headers()): Response {
  return refusalResponse(refusalFor(failure), headers);
}

/** Copies session headers (`Set-Cookie`, `Cache-Control`, renewed tokens) onto a response. */
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

/** A refusal as a problem details response, after the session headers of the request. */
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
 */
export function signIn<Data extends JsonObject>(
  manager: SessionManager<Data>,
  request: Request,
  input: Omit<CreateInput<Data>, "request">,
): Promise<IssuedSession<Data>> {
  return signInFrom(manager, request, input);
}

/** sessionkit's errors as problem responses (503, 403); `null` for any other error. */
export function sessionErrorResponse(error: unknown): Response | null {
  const refusal = refusalOf(error);
  return refusal ? refusalResponse(refusal) : null;
}

/**
 * DBSC's two endpoints (`deviceBound` option) as Fetch handlers, for Hono, Bun, Deno or
 * Workers: `app.post("/dbsc/register", (c) => dbsc.register(c.req.raw))`.
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
