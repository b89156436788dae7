import { createCsrfToken } from "../csrf/token.js";
import { SessionError } from "../errors.js";
import type { JsonObject } from "../stores/types.js";
import { type DeviceAnswer, problemAnswer } from "./device-bound.js";
import { type Duration, parseDuration } from "./duration.js";
import { RAW_AUTHENTICATE, type RawAuthenticate, withHeaders } from "./hot-path.js";
import { createInternals } from "./internals.js";
import { createInventory } from "./inventory.js";
import { type NormalizedOptions, normalizeOptions } from "./options.js";
import { createParts } from "./parts.js";
import { createPresented } from "./presented.js";
import { createSignIn } from "./sign-in.js";
import { clearCookies, createSignOut } from "./sign-out.js";
import type {
  AuthenticateOptions,
  AuthFailure,
  AuthResult,
  CreateInput,
  IssuedSession,
  RefreshResult,
  RequestLike,
  Session,
  SessionInfo,
  SessionManagerOptions,
} from "./types.js";

export { RENEWED_TOKEN_HEADER } from "./token-headers.js";

export interface SessionManager<Data extends JsonObject = JsonObject> {
  readonly strategy: SessionManagerOptions<Data>["strategy"];
  readonly cookieNames: NormalizedOptions<Data>["cookies"]["names"];
  /**
   * The session of a request, or `null` and a reason. Never throws on bad input. With
   * `readOnly`, nothing is renewed or written (see `AuthenticateOptions`).
   */
  authenticate(request: RequestLike, options?: AuthenticateOptions): Promise<AuthResult<Data>>;
  /** Signs a user in: always a new session; the one the request carried is ended. */
  create(input: CreateInput<Data>): Promise<IssuedSession<Data>>;
  /**
   * Ends the session the request proves it holds (for `jwt`/`hybrid` an expired access token
   * counts, and for `hybrid` the refresh or binding cookie) and clears every cookie. A
   * cookie-borne sign-out must pass the CSRF check; when it does not, `failure` says so (403)
   * and nothing changes. When no live session was proven, `failure` is a 401 (the cookies
   * are cleared all the same).
   */
  logout(
    request: RequestLike,
  ): Promise<{ revoked: boolean; headers: Headers; failure: AuthFailure | null }>;
  /**
   * `hybrid`: rotates the refresh token (from the refresh cookie, or `input.refreshToken` for
   * header transport) and issues a new access token. Reuse of a replaced token revokes the
   * session. Never throws on bad input.
   */
  refresh(request: RequestLike, input?: { refreshToken?: string }): Promise<RefreshResult<Data>>;
  /**
   * `hybrid`: the id of the session whose refresh token this browser holds, from the binding
   * cookie that goes to every path, verified by its MAC (`null` without a valid one, and for
   * the other strategies). No store read: the session may have ended since. A page that only
   * wants to know whether a silent refresh is worth a request asks this, not the refresh.
   */
  boundSessionId(request: RequestLike): string | null;
  /**
   * `Set-Cookie` headers clearing every cookie of this manager with the name, path and
   * attributes each was set with: for a page that knows the browser's session is gone and
   * wants nothing of it left, without a sign-out (which would end a session the request proves).
   */
  clearCookies(): Headers;
  revoke(sessionId: string): Promise<boolean>;
  revokeUser(userId: string, options?: { except?: string }): Promise<string[]>;
  list(userId: string, options?: { current?: string }): Promise<SessionInfo[]>;
  get(sessionId: string): Promise<Session<Data> | null>;
  /** Changes data without lost updates: version-checked, re-applied on conflict. */
  update(sessionId: string, patch: Partial<Data> | ((data: Data) => Data)): Promise<Session<Data>>;
  /** Throws `RECENT_AUTH_REQUIRED` unless the user signed in within `maxAge` (a guest never did). */
  requireRecentAuth(session: Session<Data>, maxAge: Duration): void;
  /** A CSRF token bound to the session (or to "no session" for sign-in forms). */
  csrfToken(session: Session<Data> | null): { token: string; headers: Headers };
  /** The CSRF check `authenticate` applies, for routes without a session such as sign-in. */
  checkCsrf(request: RequestLike, session: Session<Data> | null): boolean;
  /**
   * DBSC registration endpoint (`deviceBound.registrationPath`): binds the cookie's session to
   * the key the browser proves, once. Answer it as it is (status, headers, JSON body).
   */
  registerDevice(request: RequestLike): Promise<DeviceAnswer>;
  /**
   * DBSC refresh endpoint (`deviceBound.refreshPath`): a challenge (403), or, with a proof
   * from the bound key, a fresh short-lived cookie. Answer it as it is.
   */
  refreshDevice(request: RequestLike): Promise<DeviceAnswer>;
  /** Stops background work (cleanup, feed subscription). The store is the caller's to close. */
  close(): void;
}

/**
 * A session manager: one strategy (`id`, `jwt` or `hybrid`) over one store. Bad options
 * throw `SessionError` `CONFIG_INVALID` here, never later on a request.
 *
 * @example
 * ```ts
 * import { createSessionManager } from "sessionkit";
 * import { memoryStore } from "sessionkit/stores/memory";
 *
 * const sessions = createSessionManager({
 *   strategy: "id",
 *   store: memoryStore(),
 *   csrf: { origins: ["https://app.example"] },
 * });
 *
 * declare const login: Request; // the sign-in POST, after checking the password
 * declare const request: Request; // any later request
 * // Sign-in: a fresh session, its cookie in `headers` (copy them onto the response).
 * const { headers } = await sessions.create({ userId: "u-alice", request: login });
 * // The session, or null and a reason; never a throw on bad input.
 * const { session, failure } = await sessions.authenticate(request);
 * console.log(headers.getSetCookie().length, session?.userId ?? failure?.reason);
 * ```
 */
export function createSessionManager<Data extends JsonObject = JsonObject>(
  options: SessionManagerOptions<Data>,
): SessionManager<Data> {
  const o = normalizeOptions(options);
  const ix = createInternals(o);
  const { clock, cookies, lifetimes } = o;
  const parts = createParts(ix);
  const { opaque, jwt, refresher, device } = parts;
  const ends = createPresented(parts);
  // Without `deviceBound`, the endpoints do not exist: 404, as problem details.
  const noDevice = async () => problemAnswer(404, "Not found", "not_found");
  const authenticateRaw: RawAuthenticate<Data> = jwt ? jwt.authenticate : opaque.authenticate;

  const manager: SessionManager<Data> = {
    strategy: o.strategy,
    cookieNames: cookies.names,
    authenticate: async (request, options) => withHeaders(await authenticateRaw(request, options)),
    create: createSignIn(parts, ends),
    logout: createSignOut(parts, ends),
    ...createInventory(ix),
    checkCsrf: (request, session) => ix.csrf(request, session?.id ?? ""),

    boundSessionId: (request) => refresher?.boundSessionId(request) ?? null,
    clearCookies: clearCookies(parts),

    async refresh(request, input) {
      if (!refresher)
        throw new SessionError("CONFIG_INVALID", "refresh belongs to the hybrid strategy");
      return refresher.refresh(request, input);
    },

    requireRecentAuth(session, maxAge) {
      const limit = parseDuration(maxAge, "maxAge");
      // A guest never authenticated: its authTime is only when its session began.
      if (session.userId === null || clock() - session.authTime.getTime() > limit) {
        throw new SessionError("RECENT_AUTH_REQUIRED", "sign in again to continue");
      }
    },

    csrfToken(session) {
      const token = createCsrfToken(o.csrfKey, session?.id ?? "");
      const headers = new Headers({ "cache-control": "no-store" });
      const maxAge = session ? session.absoluteExpiresAt.getTime() - clock() : lifetimes.idle;
      headers.append("set-cookie", cookies.set(cookies.names.csrf, token, maxAge));
      return { token, headers };
    },

    registerDevice: (request) => (device ? device.register(request) : noDevice()),
    refreshDevice: (request) => (device ? device.refresh(request) : noDevice()),
    close: () => {
      ix.close();
      jwt?.close();
    },
  };
  Object.defineProperty(manager, RAW_AUTHENTICATE, { value: authenticateRaw });
  return manager;
}
