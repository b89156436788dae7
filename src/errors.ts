/**
 * Every error sessionkit throws to a caller is a `SessionError` with a `code` from this union.
 * Codes are stable API: match on `code`, never on `message`.
 */
export type SessionErrorCode =
  | "CONFIG_INVALID"
  | "STORE_UNAVAILABLE"
  | "COOKIE_TOO_LARGE"
  | "RECENT_AUTH_REQUIRED"
  | "SESSION_NOT_FOUND"
  | "UPDATE_CONFLICT"
  | "STRATEGY_UNSUPPORTED"
  | "CSRF_FAILED"
  /** A DPoP sign-in whose proof is missing (where required) or invalid; `headers` say why. */
  | "DPOP_REFUSED";

/** The HTTP status each code answers with, read by Express's and Fastify's error handlers. */
const STATUS: Record<SessionErrorCode, number> = {
  CONFIG_INVALID: 500,
  STORE_UNAVAILABLE: 503,
  COOKIE_TOO_LARGE: 500,
  RECENT_AUTH_REQUIRED: 401,
  SESSION_NOT_FOUND: 404,
  UPDATE_CONFLICT: 409,
  STRATEGY_UNSUPPORTED: 500,
  CSRF_FAILED: 403,
  DPOP_REFUSED: 401,
};

/**
 * Marks sessionkit's errors across copies of the package: a bundler (Next.js builds the proxy,
 * the route handlers and the Server Components apart) can load sessionkit more than once, and an
 * error thrown by one copy must still be a `SessionError` to another (a 503, not a 500).
 */
const BRAND = Symbol.for("sessionkit.SessionError");

/**
 * An error sessionkit throws to a caller: match on its stable `code`, never on `message`;
 * `statusCode` is the HTTP status to answer with.
 *
 * @example
 * ```ts
 * import { SessionError, type SessionManager, type Session } from "sessionkit";
 *
 * declare const sessions: SessionManager;
 * declare const session: Session;
 *
 * try {
 *   sessions.requireRecentAuth(session, "10m"); // before changing the password
 * } catch (error) {
 *   if (error instanceof SessionError && error.code === "RECENT_AUTH_REQUIRED") {
 *     // ask for the password again
 *   } else throw error;
 * }
 * ```
 */
export class SessionError extends Error {
  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === "object" && value !== null && BRAND in value;
  }

  readonly code: SessionErrorCode;
  /** HTTP status for this error (`503` for an unavailable store, `403` for CSRF, ...). */
  readonly statusCode: number;
  /** Headers the answer must carry (`DPOP_REFUSED`: `WWW-Authenticate`, maybe `DPoP-Nonce`). */
  readonly headers: Readonly<Record<string, string>>;

  constructor(
    code: SessionErrorCode,
    message: string,
    options?: { cause?: unknown; headers?: Record<string, string> },
  ) {
    super(message, options);
    this.name = "SessionError";
    this.code = code;
    this.statusCode = STATUS[code];
    this.headers = options?.headers ?? {};
    Object.defineProperty(this, BRAND, { value: true });
  }

  /** Express's final handler reads `status`. */
  get status(): number {
    return this.statusCode;
  }
}

/**
 * Whether `value` is a `SessionError` (of `code`, if given), also one thrown by another copy
 * of sessionkit (a bundler may load it twice).
 *
 * @example
 * ```ts
 * import { isSessionError, type SessionManager } from "sessionkit";
 *
 * declare const sessions: SessionManager;
 *
 * try {
 *   await sessions.revokeUser("u-alice");
 * } catch (error) {
 *   if (!isSessionError(error, "STORE_UNAVAILABLE")) throw error;
 *   // the store is unreachable: try again later (the adapters answer 503)
 * }
 * ```
 */
export function isSessionError(value: unknown, code?: SessionErrorCode): value is SessionError {
  return value instanceof SessionError && (code === undefined || value.code === code);
}

export function configError(message: string): SessionError {
  return new SessionError("CONFIG_INVALID", message);
}
