import type { IncomingMessage, ServerResponse } from "node:http";
import { failureAnswer } from "../core/failure.js";
import type { SessionManager } from "../core/manager.js";
import type { AuthResult, RequestLike, Session } from "../core/types.js";
import { isSessionError } from "../errors.js";
import type { JsonObject } from "../stores/types.js";

/**
 * A `RequestLike` view of a Node request without copying its headers into a `Headers` object:
 * the manager only reads a few of them.
 */
export function toRequestLike(req: IncomingMessage): RequestLike {
  const raw = req.headers;
  return {
    method: req.method ?? "GET",
    url: req.url ?? "/",
    headers: {
      get(name) {
        const value = raw[name.toLowerCase()];
        if (value === undefined) return null;
        return Array.isArray(value)
          ? value.join(name.toLowerCase() === "cookie" ? "; " : ", ")
          : value;
      },
    },
  };
}

/** Writes session headers onto a Node response, appending to any `Set-Cookie` already there. */
export function applyNodeHeaders(res: ServerResponse, headers: Headers): void {
  const cookies = headers.getSetCookie();
  if (cookies.length > 0) {
    const existing = res.getHeader("set-cookie");
    const before =
      existing === undefined ? [] : Array.isArray(existing) ? existing : [String(existing)];
    res.setHeader("set-cookie", [...before, ...cookies]);
  }
  headers.forEach((value, name) => {
    if (name !== "set-cookie") res.setHeader(name, value);
  });
}

export function sendFailure(
  res: ServerResponse,
  status: number,
  code: string,
  extra: Headers,
): void {
  applyNodeHeaders(res, extra);
  res.statusCode = status;
  res.setHeader("content-type", "application/problem+json");
  res.setHeader("cache-control", "no-store");
  res.end(JSON.stringify({ type: "about:blank", title: code, status, code }));
}

export interface NodeAuthOptions {
  /** Answer 401/403/503 directly instead of passing `null` through. Default `true`. */
  required?: boolean;
}

/**
 * Authenticates a Node request. Returns the session, or `null` after answering the request
 * itself (401, 403 or 503) when the session is required.
 */
export async function authenticateNode<Data extends JsonObject>(
  manager: SessionManager<Data>,
  req: IncomingMessage,
  res: ServerResponse,
  options: NodeAuthOptions = {},
): Promise<Session<Data> | null> {
  let result: AuthResult<Data>;
  try {
    result = await manager.authenticate(toRequestLike(req));
  } catch (error) {
    if (!isSessionError(error, "STORE_UNAVAILABLE")) throw error;
    sendFailure(res, 503, "store_unavailable", new Headers({ "retry-after": "1" }));
    return null;
  }
  if (result.session) {
    applyNodeHeaders(res, result.headers);
    return result.session;
  }
  if (options.required === false) {
    applyNodeHeaders(res, result.headers);
    return null;
  }
  const answer = failureAnswer(result.failure);
  if (answer.wwwAuthenticate) result.headers.set("www-authenticate", answer.wwwAuthenticate);
  sendFailure(res, answer.status, answer.code, result.headers);
  return null;
}

const sessions = new WeakMap<IncomingMessage, Session<JsonObject> | null>();

/** The session `sessionMiddleware` attached to this request (`null` when signed out). */
export function getSession<Data extends JsonObject = JsonObject>(
  req: IncomingMessage,
): Session<Data> | null {
  return (sessions.get(req) as Session<Data> | undefined) ?? null;
}

/**
 * Connect-style middleware (`node:http`, Express, Connect): attaches the session (read it
 * with `getSession(req)`) and calls
 * `next()`, or answers 401/403/503 itself when `required` (the default).
 */
export function sessionMiddleware<Data extends JsonObject>(
  manager: SessionManager<Data>,
  options: NodeAuthOptions = {},
) {
  return (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void): void => {
    authenticateNode(manager, req, res, options).then((session) => {
      if (session === null && options.required !== false) return;
      sessions.set(req, session as Session<JsonObject> | null);
      next();
    }, next);
  };
}
