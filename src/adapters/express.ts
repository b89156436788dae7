import type { ErrorRequestHandler, Request, RequestHandler, Response } from "express";
import type { SessionManager } from "../core/manager.js";
import type { CreateInput, RegisteredData, Session } from "../core/types.js";
import type { JsonObject } from "../stores/types.js";
import { applyNodeHeaders, markAuthenticated, sendRefusal, toRequestLike } from "./node.js";
import {
  authenticateOutcome,
  type Outcome,
  type Refusal,
  refusalOf,
  requestStates,
  signInFrom,
  signOutFrom,
  userSession,
} from "./outcome.js";

declare global {
  namespace Express {
    interface Request {
      /**
       * Set by `sessionkit()`: the session, or `null` when signed out. Typed by
       * `declare module "sessionkit" { interface Register { data: ... } }`.
       */
      session: Session<RegisteredData> | null;
    }
  }
}

const states = requestStates<Request>("express: app.use(sessionkit(manager)) must run before this");

/**
 * The middleware: authenticates every request and sets `req.session` (`null` when signed
 * out), writing renewed cookies on `res` and, when signed in, `Cache-Control: no-store`
 * (a route may set its own). A cross-site request that carries a session cookie
 * is refused with 403; an unreachable store goes to `next(err)` as a `SessionError` (status
 * 503). Routes that need a session add `requireSession()`.
 *
 * @example
 * ```ts
 * import express from "express";
 * import type { SessionManager } from "sessionkit";
 * import { requireSession, sessionErrors, sessionkit } from "sessionkit/adapters/express";
 *
 * declare const sessions: SessionManager;
 *
 * const app = express();
 * app.use(express.json(), sessionkit(sessions)); // req.session: the session, or null
 * app.get("/me", requireSession(), (req, res) => res.json({ userId: req.session?.userId }));
 * app.use(sessionErrors());
 * ```
 */
export function sessionkit<Data extends JsonObject = RegisteredData>(
  manager: SessionManager<Data>,
): RequestHandler {
  const record = states.recorder(manager);
  return (req, res, next) => {
    const answer = (outcome: Outcome<Data>) => {
      record(req, outcome.refusal);
      req.session = outcome.session as Session<RegisteredData> | null;
      if (outcome.error) return next(outcome.error);
      applyNodeHeaders(res, outcome.headers);
      if (outcome.session) markAuthenticated(res);
      if (outcome.refusal?.status === 403) return sendRefusal(res, outcome.refusal);
      next();
    };
    let pending: Outcome<Data> | Promise<Outcome<Data>>;
    try {
      pending = authenticateOutcome(manager, toRequestLike(req));
    } catch (error) {
      return next(error);
    }
    if (pending instanceof Promise) pending.then(answer, next);
    else answer(pending);
  };
}

/**
 * Guard: lets signed-in requests through, answers the others (guests too) 401 (problem+json).
 *
 * @example
 * ```ts
 * import express from "express";
 * import type { SessionManager } from "sessionkit";
 * import { requireSession, sessionkit } from "sessionkit/adapters/express";
 *
 * declare const sessions: SessionManager;
 *
 * const app = express();
 * app.use(sessionkit(sessions));
 * app.get("/me", requireSession(), (req, res) => res.json({ userId: req.session?.userId }));
 * ```
 */
export function requireSession(): RequestHandler {
  return (req, res, next) => {
    if (userSession(req.session)) return next();
    let refusal: Refusal;
    try {
      refusal = states.refusal(req);
    } catch (error) {
      return next(error);
    }
    sendRefusal(res, refusal);
  };
}

/**
 * Signs the user in: a new session (the one the request carried ends), its cookie written on
 * `res`, `req.session` set. A cross-site sign-in is refused with a `CSRF_FAILED` error (403).
 *
 * @example
 * ```ts
 * import express from "express";
 * import type { SessionManager } from "sessionkit";
 * import { sessionErrors, sessionkit, signIn } from "sessionkit/adapters/express";
 *
 * declare const sessions: SessionManager;
 * declare function checkPassword(body: unknown): Promise<string | null>; // yours
 *
 * const app = express();
 * app.use(express.json(), sessionkit(sessions));
 * app.post("/login", async (req, res) => {
 *   const userId = await checkPassword(req.body);
 *   if (!userId) return res.status(401).end();
 *   // Carry a guest's data over: the guest session ends here.
 *   await signIn(req, res, { userId, data: req.session?.data ?? {} });
 *   res.json({ userId });
 * });
 * app.use(sessionErrors()); // 403 for a cross-site sign-in
 * ```
 */
export async function signIn<Data extends JsonObject = RegisteredData>(
  req: Request,
  res: Response,
  input: Omit<CreateInput<Data>, "request">,
): Promise<Session<Data>> {
  const manager = states.manager<Data>(req);
  const issued = await signInFrom(manager, toRequestLike(req), { ip: req.ip ?? null, ...input });
  applyNodeHeaders(res, issued.headers);
  req.session = issued.session as unknown as Session<RegisteredData>;
  return issued.session;
}

/**
 * Ends the request's session and clears its cookies; returns whether one was revoked. A
 * cross-site sign-out throws `CSRF_FAILED` (403) and changes nothing.
 *
 * @example
 * ```ts
 * import express from "express";
 * import type { SessionManager } from "sessionkit";
 * import { sessionErrors, sessionkit, signOut } from "sessionkit/adapters/express";
 *
 * declare const sessions: SessionManager;
 *
 * const app = express();
 * app.use(sessionkit(sessions));
 * app.post("/logout", async (req, res) => {
 *   await signOut(req, res);
 *   res.status(204).end();
 * });
 * app.use(sessionErrors());
 * ```
 */
export async function signOut(req: Request, res: Response): Promise<boolean> {
  const { revoked, headers } = await signOutFrom(states.manager(req), toRequestLike(req));
  applyNodeHeaders(res, headers);
  req.session = null;
  return revoked;
}

/**
 * `hybrid`: rotates the refresh token and issues a new access token, written on `res`.
 *
 * @example
 * ```ts
 * import express from "express";
 * import type { SessionManager } from "sessionkit";
 * import { refreshSession, sessionkit } from "sessionkit/adapters/express";
 *
 * declare const sessions: SessionManager; // strategy "hybrid"
 *
 * const app = express();
 * app.use(sessionkit(sessions));
 * // cookie.refreshPath (default "/api/hybrid/refresh"): the only path the refresh cookie goes to
 * app.post("/api/hybrid/refresh", async (req, res) => {
 *   const session = await refreshSession(req, res);
 *   res.status(session ? 204 : 401).end();
 * });
 * ```
 */
export async function refreshSession<Data extends JsonObject = RegisteredData>(
  req: Request,
  res: Response,
): Promise<Session<Data> | null> {
  const manager = states.manager<Data>(req);
  const result = await manager.refresh(toRequestLike(req));
  applyNodeHeaders(res, result.headers);
  return result.session;
}

/**
 * Error handler that answers sessionkit's errors as problem details: 503 with `Retry-After`
 * for an unavailable store, 403 for a cross-site sign-in. Other errors go on to `next`.
 *
 * @example
 * ```ts
 * import express from "express";
 * import type { SessionManager } from "sessionkit";
 * import { sessionErrors, sessionkit } from "sessionkit/adapters/express";
 *
 * declare const sessions: SessionManager;
 *
 * const app = express();
 * app.use(sessionkit(sessions));
 * // ... routes ...
 * // After the routes: 503 while the store is down, 403 for a cross-site sign-in or sign-out.
 * app.use(sessionErrors());
 * ```
 */
export function sessionErrors(): ErrorRequestHandler {
  return (error, _req, res, next) => {
    const refusal = refusalOf(error);
    if (!refusal || res.headersSent) return next(error);
    sendRefusal(res, refusal);
  };
}

/** DBSC's two endpoints as Express handlers: `app.post("/dbsc/register", dbsc.register)`. */
export { deviceEndpoints } from "./node.js";
