import type { IncomingMessage, ServerResponse } from "node:http";
import type { DeviceAnswer } from "../core/device-bound.js";
import type { SessionManager } from "../core/manager.js";
import type { CreateInput, RequestLike, Session } from "../core/types.js";
import type { JsonObject } from "../stores/types.js";
import { appendSetCookie } from "./node-headers.js";
import {
  AUTHENTICATED_CACHE_CONTROL,
  authenticateOutcome,
  problemBody,
  type Refusal,
  refusalOf,
  signInFrom,
  signOutFrom,
  unauthorizedRefusal,
  userSession,
} from "./outcome.js";

/** The headers of a Node request as the core reads them: in place, nothing copied. */
class NodeHeaders {
  readonly #req: IncomingMessage;
  constructor(req: IncomingMessage) {
    this.#req = req;
  }
  get(name: string): string | null {
    const key = name.toLowerCase();
    const value = this.#req.headers[key];
    if (value === undefined) return null;
    if (Array.isArray(value)) return value.join(key === "cookie" ? "; " : ", ");
    // Node keeps the first of repeated Authorization lines and drops the others: all of them,
    // joined, make the credential ambiguous, which is refused, as a Fetch request has it.
    return key === "authorization" ? allLines(this.#req.rawHeaders ?? [], key, value) : value;
  }
}

/** Every line of header `key` (lower case) in the raw list, joined; `first` when only one. */
function allLines(raw: readonly string[], key: string, first: string): string {
  let lines: string[] | null = null;
  let seen = 0;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    if (name.length !== key.length || name.toLowerCase() !== key) continue;
    seen++;
    if (seen === 2) lines = [first];
    if (lines && seen >= 2) lines.push(raw[i + 1] as string);
  }
  return lines ? lines.join(", ") : first;
}

/**
 * A `RequestLike` view of a Node request without copying its headers into a `Headers` object:
 * the manager only reads a few of them.
 *
 * @example
 * ```ts
 * import { createServer } from "node:http";
 * import type { SessionManager } from "sessionkit";
 * import { toRequestLike } from "sessionkit/adapters/node";
 *
 * declare const sessions: SessionManager;
 *
 * createServer(async (req, res) => {
 *   const { session } = await sessions.authenticate(toRequestLike(req), { readOnly: true });
 *   res.end(session ? `signed in as ${session.userId}` : "signed out");
 * });
 * ```
 */
export function toRequestLike(req: IncomingMessage): RequestLike {
  return new NodeRequest(req);
}

class NodeRequest implements RequestLike {
  readonly #req: IncomingMessage;
  readonly method: string;
  readonly headers: NodeHeaders;
  constructor(req: IncomingMessage) {
    this.#req = req;
    this.method = req.method ?? "GET";
    this.headers = new NodeHeaders(req);
  }
  /**
   * The absolute URL, built only when read (DPoP's `htu`): the scheme from the socket, the
   * host from the Host header. Behind a proxy the public origin differs: `dpop.origin`.
   */
  get url(): string {
    const req = this.#req;
    const scheme = (req.socket as { encrypted?: boolean } | undefined)?.encrypted
      ? "https"
      : "http";
    const host = req.headers.host ?? "localhost";
    // Express rewrites `url` relative to a router's mount point; the client signed the whole.
    const path = (req as { originalUrl?: string }).originalUrl ?? req.url ?? "/";
    return `${scheme}://${host}${path}`;
  }
}

/**
 * Writes session headers onto a Node response, appending to any `Set-Cookie` already there.
 *
 * @example
 * ```ts
 * import { createServer } from "node:http";
 * import type { SessionManager } from "sessionkit";
 * import { applyNodeHeaders, toRequestLike } from "sessionkit/adapters/node";
 *
 * declare const sessions: SessionManager;
 *
 * createServer(async (req, res) => {
 *   const { session, headers } = await sessions.refresh(toRequestLike(req)); // hybrid
 *   applyNodeHeaders(res, headers); // the new access and refresh cookies
 *   res.statusCode = session ? 204 : 401;
 *   res.end();
 * });
 * ```
 */
export function applyNodeHeaders(res: ServerResponse, headers: Headers | null): void {
  if (headers === null) return;
  const cookies = headers.getSetCookie();
  if (cookies.length > 0) appendSetCookie(res, cookies);
  headers.forEach((value, name) => {
    if (name !== "set-cookie") res.setHeader(name, value);
  });
}

/**
 * Marks the response to an authenticated request `Cache-Control: no-store`, unless something
 * set one already; the handler, which runs later, may still choose its own.
 *
 * @example
 * ```ts
 * import { createServer } from "node:http";
 * import type { SessionManager } from "sessionkit";
 * import { applyNodeHeaders, markAuthenticated, toRequestLike } from "sessionkit/adapters/node";
 *
 * declare const sessions: SessionManager;
 *
 * createServer(async (req, res) => {
 *   const { session, headers } = await sessions.authenticate(toRequestLike(req));
 *   applyNodeHeaders(res, headers);
 *   if (session) markAuthenticated(res); // Cache-Control: no-store
 *   res.end(session?.userId ?? "signed out");
 * });
 * ```
 */
export function markAuthenticated(res: ServerResponse): void {
  if (!res.hasHeader("cache-control")) res.setHeader("cache-control", AUTHENTICATED_CACHE_CONTROL);
}

/**
 * Answers with a refusal as problem details (RFC 9457), keeping session headers already set.
 *
 * @example
 * ```ts
 * import { createServer } from "node:http";
 * import { sendRefusal } from "sessionkit/adapters/node";
 *
 * createServer((req, res) => {
 *   sendRefusal(res, {
 *     status: 401,
 *     code: "unauthorized",
 *     title: "Unauthorized",
 *     headers: new Headers({ "www-authenticate": "Bearer" }),
 *   });
 * });
 * ```
 */
export function sendRefusal(res: ServerResponse, refusal: Refusal): void {
  applyNodeHeaders(res, refusal.headers);
  res.statusCode = refusal.status;
  res.setHeader("content-type", "application/problem+json");
  res.setHeader("cache-control", "no-store");
  res.end(problemBody(refusal));
}

export interface NodeAuthOptions {
  /** Answer 401/403/503 directly instead of passing `null` through. Default `true`. */
  required?: boolean;
}

/**
 * Authenticates a Node request. Returns the session (the response is then marked
 * `Cache-Control: no-store`; set your own after this call to change it), or `null` after
 * answering the request itself (401, 403 or 503) when the session is required. A cross-site
 * request that carries a session cookie is refused (403) either way.
 *
 * @example
 * ```ts
 * import { createServer } from "node:http";
 * import type { SessionManager } from "sessionkit";
 * import { authenticateNode } from "sessionkit/adapters/node";
 *
 * declare const sessions: SessionManager;
 *
 * createServer(async (req, res) => {
 *   const session = await authenticateNode(sessions, req, res);
 *   if (!session) return; // answered: 401, 403 or 503
 *   res.setHeader("content-type", "application/json");
 *   res.end(JSON.stringify({ userId: session.userId }));
 * });
 * ```
 */
export async function authenticateNode<Data extends JsonObject>(
  manager: SessionManager<Data>,
  req: IncomingMessage,
  res: ServerResponse,
  options: NodeAuthOptions = {},
): Promise<Session<Data> | null> {
  const pending = authenticateOutcome(manager, toRequestLike(req));
  const outcome = pending instanceof Promise ? await pending : pending;
  applyNodeHeaders(res, outcome.headers);
  if (outcome.session) {
    markAuthenticated(res);
    // A guest session when a signed-in user is required: refused like none.
    if (userSession(outcome.session) || options.required === false) return outcome.session;
  }
  const refusal = outcome.session ? unauthorizedRefusal() : outcome.refusal;
  if (refusal && (options.required !== false || refusal.status !== 401)) {
    sendRefusal(res, refusal);
  }
  return null;
}

const sessions = new WeakMap<IncomingMessage, Session<JsonObject> | null>();

/**
 * The session `sessionMiddleware` attached to this request (`null` when signed out).
 *
 * @example
 * ```ts
 * import { createServer } from "node:http";
 * import type { SessionManager } from "sessionkit";
 * import { getSession, sendSessionError, sessionMiddleware } from "sessionkit/adapters/node";
 *
 * declare const sessions: SessionManager;
 *
 * const middleware = sessionMiddleware(sessions, { required: false });
 * createServer((req, res) =>
 *   middleware(req, res, (error) => {
 *     if (error) return void sendSessionError(res, error);
 *     res.end(getSession(req)?.userId ?? "signed out");
 *   }),
 * );
 * ```
 */
export function getSession<Data extends JsonObject = JsonObject>(
  req: IncomingMessage,
): Session<Data> | null {
  return (sessions.get(req) as Session<Data> | undefined) ?? null;
}

/**
 * Connect-style middleware (`node:http`, Connect): attaches the session (read it with
 * `getSession(req)`) and calls `next()`, or answers 401/403/503 itself when `required` (the
 * default). Express has its own adapter, `sessionkit/adapters/express`.
 *
 * @example
 * ```ts
 * import { createServer } from "node:http";
 * import type { SessionManager } from "sessionkit";
 * import { getSession, sessionMiddleware } from "sessionkit/adapters/node";
 *
 * declare const sessions: SessionManager;
 *
 * const requireUser = sessionMiddleware(sessions); // required: answers 401/403/503 itself
 * createServer((req, res) =>
 *   requireUser(req, res, () => res.end(`signed in as ${getSession(req)?.userId}`)),
 * );
 * ```
 */
export function sessionMiddleware<Data extends JsonObject>(
  manager: SessionManager<Data>,
  options: NodeAuthOptions = {},
) {
  return (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void): void => {
    authenticateNode(manager, req, res, options).then((session) => {
      if (session === null && res.headersSent) return; // answered: 401, 403 or 503
      sessions.set(req, session as Session<JsonObject> | null);
      next();
    }, next);
  };
}

/**
 * Signs the user in: a new session (the one the request carried ends), its cookie written on
 * `res`. A cross-site sign-in throws a `CSRF_FAILED` error (see `sendSessionError`).
 *
 * @example
 * ```ts
 * import { createServer } from "node:http";
 * import type { SessionManager } from "sessionkit";
 * import { sendSessionError, signIn } from "sessionkit/adapters/node";
 *
 * declare const sessions: SessionManager;
 *
 * createServer(async (req, res) => {
 *   try {
 *     // after checking the password
 *     const session = await signIn(sessions, req, res, { userId: "u-alice" });
 *     res.end(JSON.stringify({ userId: session.userId }));
 *   } catch (error) {
 *     if (!sendSessionError(res, error)) throw error; // 403 cross-site, 503 store down
 *   }
 * });
 * ```
 */
export async function signIn<Data extends JsonObject>(
  manager: SessionManager<Data>,
  req: IncomingMessage,
  res: ServerResponse,
  input: Omit<CreateInput<Data>, "request">,
): Promise<Session<Data>> {
  const issued = await signInFrom(manager, toRequestLike(req), {
    ip: req.socket.remoteAddress ?? null,
    ...input,
  });
  applyNodeHeaders(res, issued.headers);
  return issued.session;
}

/**
 * Ends the request's session and clears its cookies; returns whether one was revoked. A
 * cross-site sign-out throws `CSRF_FAILED` (403) and changes nothing.
 *
 * @example
 * ```ts
 * import { createServer } from "node:http";
 * import type { SessionManager } from "sessionkit";
 * import { sendSessionError, signOut } from "sessionkit/adapters/node";
 *
 * declare const sessions: SessionManager;
 *
 * createServer(async (req, res) => {
 *   try {
 *     await signOut(sessions, req, res);
 *     res.statusCode = 204;
 *     res.end();
 *   } catch (error) {
 *     if (!sendSessionError(res, error)) throw error;
 *   }
 * });
 * ```
 */
export async function signOut<Data extends JsonObject>(
  manager: SessionManager<Data>,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<boolean> {
  const { revoked, headers } = await signOutFrom(manager, toRequestLike(req));
  applyNodeHeaders(res, headers);
  return revoked;
}

/**
 * Answers one of sessionkit's errors as problem details (503 for an unreachable store, 403
 * for a cross-site sign-in) and returns `true`; returns `false` for any other error.
 *
 * @example
 * ```ts
 * import { createServer } from "node:http";
 * import type { SessionManager } from "sessionkit";
 * import { sendSessionError } from "sessionkit/adapters/node";
 *
 * declare const sessions: SessionManager;
 *
 * createServer(async (req, res) => {
 *   try {
 *     const ended = await sessions.revokeUser("u-alice");
 *     res.end(JSON.stringify({ ended }));
 *   } catch (error) {
 *     if (sendSessionError(res, error)) return; // 503 while the store is unreachable
 *     res.statusCode = 500;
 *     res.end();
 *   }
 * });
 * ```
 */
export function sendSessionError(res: ServerResponse, error: unknown): boolean {
  const refusal = refusalOf(error);
  if (!refusal || res.headersSent) return false;
  sendRefusal(res, refusal);
  return true;
}

/**
 * DBSC's two endpoints (`deviceBound` option) as Node handlers, for node:http and Express:
 * `app.post("/dbsc/register", dbsc.register)`. A store outage rejects with
 * `STORE_UNAVAILABLE` (Express 5 passes it to the error handler).
 *
 * @example
 * ```ts
 * import { createServer } from "node:http";
 * import type { SessionManager } from "sessionkit";
 * import { deviceEndpoints } from "sessionkit/adapters/node";
 *
 * declare const sessions: SessionManager; // with the deviceBound option
 *
 * const dbsc = deviceEndpoints(sessions);
 * createServer((req, res) => {
 *   if (req.url === "/dbsc/register") return void dbsc.register(req, res);
 *   if (req.url === "/dbsc/refresh") return void dbsc.refresh(req, res);
 *   res.statusCode = 404;
 *   res.end();
 * });
 * ```
 */
export function deviceEndpoints<Data extends JsonObject>(manager: SessionManager<Data>) {
  const send = (res: ServerResponse, answer: DeviceAnswer) => {
    applyNodeHeaders(res, answer.headers);
    res.statusCode = answer.status;
    res.end(answer.body ?? undefined);
  };
  return {
    register: async (req: IncomingMessage, res: ServerResponse) =>
      send(res, await manager.registerDevice(toRequestLike(req))),
    refresh: async (req: IncomingMessage, res: ServerResponse) =>
      send(res, await manager.refreshDevice(toRequestLike(req))),
  };
}
