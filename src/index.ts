export type { CookieNames, CookieOptions } from "./cookies/policy.js";
export { type Duration, parseDuration, tryParseDuration } from "./core/duration.js";
export { type FailureAnswer, failureAnswer } from "./core/failure.js";
export { createSessionManager, RENEWED_TOKEN_HEADER, type SessionManager } from "./core/manager.js";
export type {
  AuthenticateOptions,
  AuthFailure,
  AuthResult,
  CreateInput,
  FailureReason,
  IssuedSession,
  Lifetimes,
  RefreshResult,
  Register,
  RegisteredData,
  RequestLike,
  RevokeEvent,
  Session,
  SessionEvents,
  SessionInfo,
  SessionManagerOptions,
  StandardSchema,
  Transport,
} from "./core/types.js";
export { isSessionError, SessionError, type SessionErrorCode } from "./errors.js";
export type {
  JsonObject,
  JsonValue,
  SessionStore,
  StoreChange,
  StoredSession,
  StrategyName,
} from "./stores/types.js";
export { generateKeySet, type Jwk, type JwkSet, loadKeySet } from "./tokens/keys.js";
