import type { CookieOptions } from "../cookies/policy.js";
import type { ProofAlgorithm } from "../pop/jwk.js";
import type { ReplayCache } from "../pop/replay.js";
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

export interface AuthenticateOptions {
  /**
   * Reads the session and writes nothing: no renewal, no sliding expiry, no re-issued token.
   * For callers that cannot set a cookie on their response (a React Server Component): a
   * renewal there would be written to the store and its token thrown away, and the cookie the
   * browser keeps would die with the grace. `headers` then has nothing to apply.
   */
  readOnly?: boolean;
}

export interface Session<Data extends JsonObject = JsonObject> {
  id: string;
  /** The signed-in user, or `null` for a guest session (`create({ userId: null })`). */
  userId: string | null;
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
  /** Bound to a key the client holds (DBSC or DPoP): a copied token is worthless elsewhere. */
  deviceBound: boolean;
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
  | "unbound_refresh"
  /** DPoP: the proof is invalid (signature, method, URI, age, replay, `ath`, or the wrong key). */
  | "dpop_invalid"
  /**
   * DPoP: a bound token without a proof or under the Bearer scheme, an unbound token under the
   * DPoP scheme, or any unbound token where DPoP is required.
   */
  | "dpop_required"
  /** DPoP: the proof lacks a current server nonce; the answer carries one (`DPoP-Nonce`). */
  | "dpop_nonce"
  /**
   * DBSC: a device-bound session's cookie older than its refresh interval (a copy, or a
   * browser that stopped proving its key), presented other than as a cookie, or with device
   * binding off.
   */
  | "device_unproven";

export interface AuthFailure {
  reason: FailureReason;
  /** 401 for credentials, 403 for a CSRF refusal, 503 when the store is down (anonymous mode). */
  status: 401 | 403 | 503;
  transport: Transport | null;
  /** DPoP: the `WWW-Authenticate` challenge to answer with (RFC 9449 §7.1). */
  challenge?: string;
  /** DPoP: what was wrong with the proof, for logs (`onAuthFailure`); never sent. */
  detail?: string;
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
  /** Bound to a key its client holds (DBSC or DPoP): the devices page's badge. */
  deviceBound: boolean;
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
  /**
   * Who signs in, or `null` for a guest session (data kept for nobody signed in yet: a cart).
   * A guest session is never in a user's list or cap, and guards (`requireSession`) refuse it.
   */
  userId: string | null;
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
  /** `null` for a guest session. */
  userId: string | null;
  reason: "logout" | "revoked" | "revoked-user" | "evicted" | "reuse";
}

export interface SessionEvents<Data extends JsonObject = JsonObject> {
  onCreate?(session: Session<Data>): void;
  onRevoke?(event: RevokeEvent): void;
  onExpire?(event: { sessionId: string; userId: string | null }): void;
  onRefreshReuse?(event: { sessionId: string; userId: string | null }): void;
  onNewDevice?(session: Session<Data>): void;
  onAuthFailure?(failure: AuthFailure): void;
  /** DBSC: a registration or refresh refused (a bad or replayed proof, the wrong key). */
  onDeviceBindingFailure?(event: {
    stage: "registration" | "refresh";
    sessionId: string | null;
    reason: string;
  }): void;
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

export interface DeviceBoundOptions {
  /** The registration endpoint's path, e.g. `"/api/id/dbsc/register"`. */
  registrationPath: string;
  /** The refresh endpoint's path, e.g. `"/api/id/dbsc/refresh"`. */
  refreshPath: string;
  /** How long a bound cookie lives between proofs. Default `"10m"`, at least `"30s"`. */
  refreshInterval?: Duration;
  /** Key algorithms offered to the browser. Default `["ES256", "RS256"]`. */
  algorithms?: Array<"ES256" | "RS256">;
}

export interface DpopOptions {
  /** Also refuse header-transport sign-ins and tokens without a proof. Default `false`. */
  required?: boolean;
  /**
   * Accepted proof algorithms. Default `["ES256", "EdDSA", "Ed25519", "ES384", "PS256",
   * "RS256"]` ("Ed25519" is RFC 9864's name for EdDSA with an Ed25519 key).
   */
  algorithms?: ProofAlgorithm[];
  /** How old a proof may be (its `iat`). Default `"60s"`. */
  maxAge?: Duration;
  /**
   * Server nonces (RFC 9449 §8): proofs must carry a recent `DPoP-Nonce` the server issued,
   * which bounds a proof made in advance by a key-holding attacker. Default off.
   */
  nonce?: boolean;
  /**
   * The origin clients sign in `htu` (`"https://api.example"`), when the server sees another
   * (behind a proxy or TLS terminator). Default: the request's own URL.
   */
  origin?: string;
  /**
   * Where proofs' `jti`s are remembered so that one proof cannot be used twice. Default: this
   * process's memory (a proof replayed to another instance is still bounded by `maxAge`).
   */
  replay?: ReplayCache;
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
  /**
   * DPoP (RFC 9449) for header transport: a sign-in that presents a `DPoP` proof binds the
   * session to the client's key, and every request with its token must then carry a fresh
   * proof from that key (`Authorization: DPoP <token>` and a `DPoP` header). A token copied
   * out of the client is worthless without the key. Off by default; needs a store with
   * `bind` (all of sessionkit's stores).
   */
  dpop?: DpopOptions;
  /**
   * Device Bound Session Credentials (DBSC, in Chrome) for the `id` session cookie or the
   * `hybrid` refresh cookie: a cookie sign-in asks the browser to register a key it cannot
   * export; once it has, the bound cookie lives `refreshInterval` only and is renewed by a
   * proof from that key alone, so a copied cookie dies within minutes. Browsers without DBSC
   * are unaffected. Route the two paths with the adapter's `deviceEndpoints` (or to
   * `manager.registerDevice` and `manager.refreshDevice`). Off by default; HTTPS only
   * (browsers do DBSC on secure origins). Not for `jwt`.
   */
  deviceBound?: DeviceBoundOptions;
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
