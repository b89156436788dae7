import type { CookieOptions } from "../cookies/policy.js";
import type { JsonObject, SessionStore, StrategyName } from "../stores/types.js";
import type { JwkSet } from "../tokens/keys.js";
import type { Duration } from "./duration.js";

/** What `authenticate` reads: a Fetch `Request`, or anything with compatible `headers`. */
export interface RequestLike {
  method?: string;
  url?: string;
  headers: { get(name: string): string | null };
}

export type Transport = "cookie" | "header";

export interface Session<Data extends JsonObject = JsonObject> {
  id: string;
  userId: string;
  strategy: StrategyName;
  data: Data;
  createdAt: Date;
  lastActiveAt: Date;
  expiresAt: Date;
  absoluteExpiresAt: Date;
  authTime: Date;
  ip: string | null;
  userAgent: string | null;
  version: number;
  /** How this request presented the session. */
  transport: Transport;
}

/** Why a request is not authenticated; for logs and events only, never sent to the client. */
export type FailureReason =
  | "missing"
  | "malformed"
  | "ambiguous_cookie"
  | "unknown_session"
  | "bad_secret"
  | "wrong_strategy"
  | "invalid_data"
  | "csrf"
  | "store_unavailable"
  | "expired"
  | "revoked"
  | "invalid_token"
  | "revocation_stale"
  | "reused"
  /** `hybrid`: a refresh cookie without the binding cookie of the browser it was issued to. */
  | "unbound_refresh";

export interface AuthFailure {
  reason: FailureReason;
  /** 401 for credentials, 403 for a CSRF refusal, 503 when the store is down (anonymous mode). */
  status: 401 | 403 | 503;
  transport: Transport | null;
}

export type AuthResult<Data extends JsonObject = JsonObject> =
  | { session: Session<Data>; failure: null; headers: Headers; renewedToken: string | null }
  | { session: null; failure: AuthFailure; headers: Headers; renewedToken: null };

export interface SessionInfo {
  id: string;
  createdAt: Date;
  lastActiveAt: Date;
  expiresAt: Date;
  ip: string | null;
  userAgent: string | null;
  current: boolean;
}

export interface IssuedSession<Data extends JsonObject = JsonObject> {
  session: Session<Data>;
  /** `Set-Cookie` (cookie transport) and `Cache-Control: no-store`. */
  headers: Headers;
  /** The token (opaque for `id`, the JWT for `jwt`, the access JWT for `hybrid`). Send it in
   * a body only for header transport. */
  token: string;
  /** `hybrid`: the refresh token. */
  refreshToken?: string;
}

export type RefreshResult<Data extends JsonObject = JsonObject> =
  | {
      session: Session<Data>;
      failure: null;
      headers: Headers;
      accessToken: string;
      refreshToken: string;
    }
  | {
      session: null;
      failure: AuthFailure;
      headers: Headers;
      accessToken: null;
      refreshToken: null;
    };

export interface CreateInput<Data extends JsonObject = JsonObject> {
  userId: string;
  data?: Data;
  /** The sign-in request: its user agent is recorded and a session it carries is revoked. */
  request?: RequestLike;
  /** Client address, from the adapter (a Fetch `Request` does not carry one). */
  ip?: string | null;
  userAgent?: string | null;
  transport?: Transport;
  /** When the user proved who they are; defaults to now. */
  authTime?: number | Date;
}

export interface RevokeEvent {
  sessionId: string;
  userId: string;
  reason: "logout" | "revoked" | "revoked-user" | "evicted" | "reuse";
}

export interface SessionEvents<Data extends JsonObject = JsonObject> {
  onCreate?(session: Session<Data>): void;
  onRevoke?(event: RevokeEvent): void;
  onExpire?(event: { sessionId: string; userId: string }): void;
  onRefreshReuse?(event: { sessionId: string; userId: string }): void;
  onNewDevice?(session: Session<Data>): void;
  onAuthFailure?(failure: AuthFailure): void;
}

/** The part of the Standard Schema interface (standardschema.dev) sessionkit relies on. */
export interface StandardSchema<Output> {
  readonly "~standard": {
    readonly version: 1;
    readonly vendor: string;
    validate(
      value: unknown,
    ):
      | { readonly value: Output; readonly issues?: undefined }
      | { readonly issues: ReadonlyArray<unknown> }
      | Promise<
          | { readonly value: Output; readonly issues?: undefined }
          | { readonly issues: ReadonlyArray<unknown> }
        >;
  };
}

export interface Lifetimes {
  /** Sliding inactivity limit. Default `"30m"`. */
  idle?: Duration;
  /** Hard limit from sign-in, never extended. Default `"12h"`. */
  absolute?: Duration;
  /** `id`: a new token is issued for the session after this long. Default `"1h"`. */
  renewal?: Duration;
  /** JWT lifetime in `jwt` and `hybrid`. Default `"5m"`. */
  access?: Duration;
  /** How long a replaced token keeps working after a renewal or rotation. Default `"10s"`. */
  grace?: Duration;
}

export interface SessionManagerOptions<Data extends JsonObject = JsonObject> {
  strategy: StrategyName;
  store: SessionStore;
  /** JWK set; its current key also keys the CSRF MAC (through HKDF). */
  keys?: JwkSet;
  /** `iss` of issued tokens, checked exactly (`jwt`, `hybrid`; required there). */
  issuer?: string;
  /** `aud` of issued tokens, checked exactly (`jwt`, `hybrid`; required there). */
  audience?: string;
  /**
   * `jwt`/`hybrid`: past `maxLag` without news from the store's change feed (default `"5s"`),
   * verification fails closed, since a revocation might be missing from this instance.
   */
  revocation?: { maxLag?: Duration };
  lifetimes?: Lifetimes;
  cookie?: CookieOptions;
  /** Which transports `authenticate` accepts. Default both. */
  transports?: Transport[];
  csrf?: {
    /** Origins allowed to send unsafe requests with cookies, e.g. `"https://app.example"`. */
    origins?: string[];
  };
  /** Past this many sessions the user's oldest are revoked. Default 20. */
  maxSessionsPerUser?: number;
  /** `"fail-closed"` (default) throws `STORE_UNAVAILABLE`; `"anonymous"` treats as signed out. */
  onStoreError?: "fail-closed" | "anonymous";
  clock?: () => number;
  events?: SessionEvents<Data>;
  /** Validates `data` whenever a session is read back. */
  schema?: StandardSchema<Data>;
  /** Background deletion of expired records. Default every minute, 500 at a time. */
  cleanup?: { interval?: Duration; batch?: number } | false;
  /**
   * Keep verified records in this process for up to `maxAge` (at most `"1m"`), so that most
   * requests skip the store. Revocations on the store's change feed drop entries at once;
   * `maxAge` bounds how stale a record can be if the feed misses one (a revocation made by
   * another process while its feed is down, a data update made elsewhere). Off by default.
   */
  cache?: { maxAge: Duration; max?: number } | false;
}

/**
 * Declaration merging hook that types session data in every framework adapter at once:
 * `declare module "sessionkit" { interface Register { data: { cart: string[] } } }`.
 */
// biome-ignore lint/suspicious/noEmptyInterface: filled by the application's declaration merging
export interface Register {}

/** The session data type an application registered, or any JSON object. */
export type RegisteredData = Register extends { data: infer D extends JsonObject } ? D : JsonObject;
