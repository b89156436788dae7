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
  | "STRATEGY_UNSUPPORTED";

export class SessionError extends Error {
  readonly code: SessionErrorCode;

  constructor(code: SessionErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "SessionError";
    this.code = code;
  }
}

export function isSessionError(value: unknown, code?: SessionErrorCode): value is SessionError {
  return value instanceof SessionError && (code === undefined || value.code === code);
}

export function configError(message: string): SessionError {
  return new SessionError("CONFIG_INVALID", message);
}
