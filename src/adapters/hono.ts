import type { IncomingMessage } from "node:http";
import type { Context, ErrorHandler, MiddlewareHandler } from "hono";
import type { SessionManager } from "../core/manager.js";
import type { CreateInput, RegisteredData, RequestLike, Session } from "../core/types.js";
import type { JsonObject } from "../stores/types.js";
import { deviceEndpoints as fetchDeviceEndpoints, refusalResponse } from "./fetch.js";
import { toRequestLike } from "./node.js";
import {
  AUTHENTICATED_CACHE_CONTROL,
  authenticateOutcome,
  eachHeader,
  refusalOf,
  requestStates,
  signInFrom,
  signOutFrom,
  userSession,
} from "./outcome.js";

/** Hono environment for typed `c.var.session`: `new Hono<SessionEnv>()`. */
export type SessionEnv<Data extends JsonObject = RegisteredData> = {
  Variables: { session: Session<Data> | null };
};

// Keyed by the raw Request, which lives exactly as long as the request.
const states = requestStates<Request>("hono: app.use(sessionkit(manager)) must run before this");

/**
 * The request as the core reads it. On Node (@hono/node-server) the headers Node already
 * parsed are read in place: building the Fetch `Headers` of `c.req.raw` costs more than
 * verifying a token. Elsewhere (Bun, Deno, Workers) the Fetch request itself.
 */
function requestOf(c: Context): RequestLike {
  const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
  return incoming?.headers ? toRequestLike(incoming) : c.req.raw;
}

/** Headers set now reach whatever response the handler returns (Hono merges them). */
function writeHeaders(c: Context, headers: Headers | null): void {
  eachHeader(headers, (name, value, append) => c.header(name, value, { append }));
}

/**
 * The middleware: authenticates every request and sets `c.var.session` (`null` when signed
 * out), with renewed cookies on the response and, when signed in, `Cache-Control: no-store`
 * unless the handler set its own. A cross-site request that carries a session
 * cookie is refused with 403, an unreachable store with 503. Routes that need a session add
 * `requireSession()`.
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import type { SessionManager } from "sessionkit";
 * import { type SessionEnv, sessionErrors, sessionkit } from "sessionkit/adapters/hono";
 *
 * declare const sessions: SessionManager;
 *
 * const app = new Hono<SessionEnv>();
 * app.use(sessionkit(sessions)); // c.var.session: the session, or null
 * app.get("/", (c) => c.text(c.var.session?.userId ?? "signed out"));
 * app.onError(sessionErrors());
 * ```
 */
export function sessionkit<Data extends JsonObject = RegisteredData>(
  manager: SessionManager<Data>,
): MiddlewareHandler<SessionEnv<Data>> {
  const record = states.recorder(manager);
  return async (c, next) => {
    const pending = authenticateOutcome(manager, requestOf(c));
    const outcome = pending instanceof Promise ? await pending : pending;
    record(c.req.raw, outcome.refusal);
    if (outcome.refusal && outcome.refusal.status !== 401) {
      return refusalResponse(outcome.refusal, outcome.headers ?? undefined);
    }
    writeHeaders(c, outcome.headers);
    c.set("session", outcome.session);
    await next();
    // After the handler, on whatever response it made: a Response of its own does not carry
    // headers set with c.header() beforehand.
    if (outcome.session && !c.res.headers.has("cache-control")) {
      try {
        c.res.headers.set("cache-control", AUTHENTICATED_CACHE_CONTROL);
      } catch {
        c.header("cache-control", AUTHENTICATED_CACHE_CONTROL); // immutable headers: Hono copies
      }
    }
  };
}

/**
 * Guard: lets signed-in requests through, answers the others (guests too) 401 (problem+json).
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import type { SessionManager } from "sessionkit";
 * import { requireSession, type SessionEnv, sessionkit } from "sessionkit/adapters/hono";
 *
 * declare const sessions: SessionManager;
 *
 * const app = new Hono<SessionEnv>();
 * app.use(sessionkit(sessions));
 * app.get("/me", requireSession(), (c) => c.json({ userId: c.var.session?.userId }));
 * ```
 */
export function requireSession<Data extends JsonObject = RegisteredData>(): MiddlewareHandler<
  SessionEnv<Data>
> {
  return async (c, next) => {
    if (userSession(c.get("session"))) return next();
    return refusalResponse(states.refusal(c.req.raw));
  };
}

/**
 * Signs the user in: a new session (the one the request carried ends), its cookie on the
 * response, `c.var.session` set. A cross-site sign-in throws a `CSRF_FAILED` error, which
 * `sessionErrors()` answers with 403. Pass the client address as `ip` if you have one.
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import type { SessionManager } from "sessionkit";
 * import { type SessionEnv, sessionErrors, sessionkit, signIn } from "sessionkit/adapters/hono";
 *
 * declare const sessions: SessionManager;
 * declare function checkPassword(body: unknown): Promise<string | null>; // yours
 *
 * const app = new Hono<SessionEnv>();
 * app.use(sessionkit(sessions));
 * app.post("/login", async (c) => {
 *   const userId = await checkPassword(await c.req.json());
 *   if (!userId) return c.json({ error: "wrong username or password" }, 401);
 *   await signIn(c, { userId });
 *   return c.json({ userId });
 * });
 * app.onError(sessionErrors()); // 403 for a cross-site sign-in
 * ```
 */
export async function signIn<Data extends JsonObject = RegisteredData>(
  c: Context<SessionEnv<Data>>,
  input: Omit<CreateInput<Data>, "request">,
): Promise<Session<Data>> {
  const manager = states.manager<Data>(c.req.raw);
  const issued = await signInFrom(manager, requestOf(c), input);
  writeHeaders(c, issued.headers);
  c.set("session", issued.session);
  return issued.session;
}

/**
 * Ends the request's session and clears its cookies; returns whether one was revoked. A
 * cross-site sign-out throws `CSRF_FAILED` (403) and changes nothing.
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import type { SessionManager } from "sessionkit";
 * import { type SessionEnv, sessionErrors, sessionkit, signOut } from "sessionkit/adapters/hono";
 *
 * declare const sessions: SessionManager;
 *
 * const app = new Hono<SessionEnv>();
 * app.use(sessionkit(sessions));
 * app.post("/logout", async (c) => {
 *   await signOut(c);
 *   return c.body(null, 204);
 * });
 * app.onError(sessionErrors());
 * ```
 */
export async function signOut(c: Context): Promise<boolean> {
  const { revoked, headers } = await signOutFrom(states.manager(c.req.raw), requestOf(c));
  writeHeaders(c, headers);
  c.set("session", null);
  return revoked;
}

/**
 * `hybrid`: rotates the refresh token and issues a new access token on the response.
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import type { SessionManager } from "sessionkit";
 * import { refreshSession, type SessionEnv, sessionkit } from "sessionkit/adapters/hono";
 *
 * declare const sessions: SessionManager; // strategy "hybrid"
 *
 * const app = new Hono<SessionEnv>();
 * app.use(sessionkit(sessions));
 * app.post("/api/hybrid/refresh", async (c) => {
 *   const session = await refreshSession(c);
 *   return c.body(null, session ? 204 : 401);
 * });
 * ```
 */
export async function refreshSession<Data extends JsonObject = RegisteredData>(
  c: Context<SessionEnv<Data>>,
): Promise<Session<Data> | null> {
  const manager = states.manager<Data>(c.req.raw);
  const result = await manager.refresh(requestOf(c));
  writeHeaders(c, result.headers);
  return result.session;
}

/**
 * `app.onError(sessionErrors())`: sessionkit's errors as problem details (503 for an
 * unavailable store, 403 for a cross-site sign-in); anything else goes to `fallback`.
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import type { SessionManager } from "sessionkit";
 * import { type SessionEnv, sessionErrors, sessionkit } from "sessionkit/adapters/hono";
 *
 * declare const sessions: SessionManager;
 *
 * const app = new Hono<SessionEnv>();
 * app.use(sessionkit(sessions));
 * app.onError(sessionErrors((error, c) => c.text("Something went wrong", 500)));
 * ```
 */
export function sessionErrors(fallback?: ErrorHandler): ErrorHandler {
  return (error, c) => {
    const refusal = refusalOf(error);
    if (refusal) return refusalResponse(refusal);
    if (fallback) return fallback(error, c);
    return new Response("Internal Server Error", { status: 500 });
  };
}

/**
 * DBSC's two endpoints as Hono handlers: `app.post("/dbsc/register", dbsc.register)`.
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import type { SessionManager } from "sessionkit";
 * import { deviceEndpoints, type SessionEnv, sessionkit } from "sessionkit/adapters/hono";
 *
 * declare const sessions: SessionManager; // with the deviceBound option
 *
 * const dbsc = deviceEndpoints(sessions);
 * const app = new Hono<SessionEnv>();
 * app.use(sessionkit(sessions));
 * app.post("/dbsc/register", dbsc.register);
 * app.post("/dbsc/refresh", dbsc.refresh);
 * ```
 */
export function deviceEndpoints<Data extends JsonObject>(manager: SessionManager<Data>) {
  const endpoints = fetchDeviceEndpoints(manager);
  return {
    register: (c: Context): Promise<Response> => endpoints.register(c.req.raw),
    refresh: (c: Context): Promise<Response> => endpoints.refresh(c.req.raw),
  };
}
