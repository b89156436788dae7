import { findAuthCookie } from "../cookies/parse.js";
import { createCsrfToken } from "../csrf/token.js";
import { SessionError } from "../errors.js";
import type { JsonObject, StoredSession } from "../stores/types.js";
import { generateOpaqueToken, isSessionId } from "../tokens/opaque.js";
import { createAuthenticator } from "./authenticate.js";
import { boundJkt, deviceBound, writeBinding } from "./binding.js";
import { readCredential } from "./credentials.js";
import {
  createDeviceBinding,
  type DeviceAnswer,
  deviceRefuses,
  problemAnswer,
} from "./device-bound.js";
import { type DpopGate, presentedVerdict } from "./dpop.js";
import { type Duration, parseDuration } from "./duration.js";
import { checkUserId, guestOwner } from "./guest.js";
import { RAW_AUTHENTICATE, type RawAuthenticate, withHeaders } from "./hot-path.js";
import { createInternals } from "./internals.js";
import { type NormalizedOptions, normalizeOptions } from "./options.js";
import { verifyOpaqueToken } from "./strategies/id.js";
import { createJwtSessions } from "./strategies/jwt-session.js";
import { createRefresher } from "./strategies/refresh.js";
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
  Transport,
} from "./types.js";

export { RENEWED_TOKEN_HEADER } from "./token-headers.js";

/**
 * The key a DPoP sign-in proves it holds (the new session is bound to it), or `null` without
 * a proof where none is required. A bad proof, or none where required, is refused before
 * anything changes: a sign-in must never quietly issue an unbound token to a client that
 * asked for a bound one.
 */
function provenKey(gate: DpopGate, request: RequestLike | undefined): string | null {
  const proven = request ? gate.signIn(request) : gate.settings.required ? null : { jkt: null };
  if (proven && "jkt" in proven) return proven.jkt;
  const headers: Record<string, string> = {
    "www-authenticate": proven?.challenge ?? gate.challenge(),
    "cache-control": "no-store",
  };
  if (proven?.nonce) headers["dpop-nonce"] = proven.nonce;
  throw new SessionError(
    "DPOP_REFUSED",
    `DPoP sign-in refused: ${proven?.detail ?? "no request"}`,
    {
      headers,
    },
  );
}

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

export function createSessionManager<Data extends JsonObject = JsonObject>(
  options: SessionManagerOptions<Data>,
): SessionManager<Data> {
  const o = normalizeOptions(options);
  const ix = createInternals(o);
  const { store, clock, events, cookies, lifetimes } = o;
  const { reader, cache, storeCall, toSession, emit, revoked } = ix;
  const opaque = createAuthenticator(ix);
  // Without `deviceBound`, the endpoints do not exist: 404, as problem details.
  const noDevice = async () => problemAnswer(404, "Not found", "not_found");
  const jwt = o.jwt ? createJwtSessions(ix, o.jwt) : null;
  const refresher = o.strategy === "hybrid" && jwt ? createRefresher(ix, jwt) : null;
  const authenticateRaw: RawAuthenticate<Data> = jwt ? jwt.authenticate : opaque.authenticate;
  const authenticate = async (request: RequestLike, options?: AuthenticateOptions) =>
    withHeaders(await authenticateRaw(request, options));
  const checkCsrf = (request: RequestLike, session: Session<Data> | null) =>
    ix.csrf(request, session?.id ?? "");
  const cookieName = jwt ? jwt.cookieName : cookies.names.session;
  const device = o.deviceBound
    ? createDeviceBinding(
        ix,
        o.deviceBound,
        // hybrid: a registration proves its session by the access or binding cookie.
        refresher && jwt
          ? async (request) =>
              jwt.presentedSessionId(request)?.id ?? refresher.boundSessionId(request)
          : null,
      )
    : null;

  /**
   * The session a request proves it holds, and how, verified without `authenticate`'s side
   * effects. An access token lapsed less than its lifetime ago still counts: this only ever
   * ends a session.
   */
  const presented = async (
    request: RequestLike,
    now: number,
    provenJkt: string | null = null,
  ): Promise<{ id: string; transport: Transport } | null> => {
    if (jwt) {
      const found = jwt.presentedSessionId(request, provenJkt);
      if (found || !refresher) return found;
      // hybrid: the access cookie may be gone (a 401 clears it); the binding cookie goes to
      // every path, and a client may present its refresh cookie.
      // The binding cookie names its session for the whole absolute lifetime: it proves a
      // device-bound session on its own no more than a lapsed refresh cookie would.
      const bound = refresher.boundSessionId(request);
      const named = bound ? await storeCall(() => reader.fresh(bound, now)) : null;
      if (bound && !(named && deviceBound(named.binding)))
        return { id: bound, transport: "cookie" };
      const rt = findAuthCookie(request.headers.get("cookie"), cookies.names.refresh);
      if (rt.status !== "found") return null;
      const verified = await storeCall(() => verifyOpaqueToken(reader, rt.value, now));
      // A token of another strategy's session in the refresh cookie proves nothing here.
      if (typeof verified === "string" || verified.record.strategy !== o.strategy) return null;
      // A DPoP-bound refresh token, copied into a cookie, proves nothing without its key.
      const credential = { transport: "header" as const, scheme: "dpop" as const, token: rt.value };
      const jkt = boundJkt(verified.record.binding);
      if (jkt !== null && presentedVerdict(ix.dpop, request, credential, jkt, provenJkt, false)) {
        return null;
      }
      if (deviceRefuses(o.deviceBound, lifetimes.grace, verified.record, "cookie", now)) {
        return null;
      }
      return { id: verified.record.id, transport: "cookie" };
    }
    const credential = readCredential(request, cookieName, o.transports, ix.dpop !== null);
    if (!credential.ok) return null;
    const found = await storeCall(() => verifyOpaqueToken(reader, credential.token, now));
    if (typeof found === "string" || found.record.strategy !== o.strategy) return null;
    const { record } = found;
    // A bound token proves its session only as it would authenticate: DPoP with a proof
    // from its key, a device-bound cookie within its interval.
    const jkt = boundJkt(record.binding);
    if (presentedVerdict(ix.dpop, request, credential, jkt, provenJkt)) return null;
    if (deviceRefuses(o.deviceBound, lifetimes.grace, record, credential.transport, now)) {
      return null;
    }
    return { id: record.id, transport: credential.transport };
  };

  /**
   * Whether a request may end the session it proves: over a header, yes; over a cookie, only
   * a safe method or with same-origin proof for that session (the CSRF rule).
   */
  const endsByRequest = (request: RequestLike, found: { id: string; transport: Transport }) =>
    found.transport !== "cookie" || ix.csrf(request, found.id);

  async function create(input: CreateInput<Data>): Promise<IssuedSession<Data>> {
    const now = clock();
    // `userId: null` starts a guest session: owned by a name of its own in the store.
    const guest = input?.userId === null;
    const owner = guest ? guestOwner() : checkUserId(input?.userId, "create");
    const transport = input.transport ?? "cookie";
    const jkt = ix.dpop && transport === "header" ? provenKey(ix.dpop, input.request) : null;
    const previous = input.request ? await presented(input.request, now, jkt) : null;
    // The session the request carried ends only under sign-out's own rule: a cookie-borne one
    // with same-origin proof for that session (a sign-in form's token, bound to no session,
    // proves the sign-in, not a right to end whatever cookie rode along).
    const ending = previous && input.request && endsByRequest(input.request, previous);
    const ended = ending ? await storeCall(() => store.delete(previous.id, "logout")) : null;
    if (ended) revoked(ended, "logout");
    const userAgent = input.userAgent ?? input.request?.headers.get("user-agent") ?? null;
    const secret = generateOpaqueToken(store.newSessionId?.(owner));
    const record: StoredSession = {
      id: secret.id,
      userId: owner,
      strategy: o.strategy,
      // A jwt session has no opaque secret: its inventory record only names it. A hybrid
      // session's secret is its refresh token's.
      secretHash: o.strategy === "jwt" ? null : secret.secretHash,
      previousSecretHash: null,
      previousValidUntil: null,
      successor: null,
      createdAt: now,
      lastActiveAt: now,
      renewedAt: now,
      authTime: input.authTime === undefined ? now : Number(input.authTime),
      expiresAt: Math.min(now + lifetimes.idle, now + lifetimes.absolute),
      absoluteExpiresAt: now + lifetimes.absolute,
      ip: input.ip ?? null,
      userAgent: userAgent === null ? null : userAgent.slice(0, 512),
      data: input.data ?? {},
      version: 0,
      binding: jkt === null ? null : writeBinding({ kind: "dpop", jkt }),
    };
    // Only pay for the lookup when someone listens for new devices.
    const newDevice =
      events.onNewDevice && !guest
        ? !(await storeCall(() => store.listUser(owner, now))).some(
            (r) => r.userAgent === record.userAgent,
          )
        : false;
    const { evicted } = await storeCall(() =>
      store.create(record, { now, maxSessionsPerUser: o.maxSessionsPerUser }),
    );
    for (const old of evicted) revoked(old, "evicted");
    const session = toSession(record, transport, record.data as Data);
    emit("onCreate", session);
    if (newDevice) emit("onNewDevice", session);
    if (refresher) {
      const pair = refresher.start(record, secret, transport, now);
      // A browser that speaks DBSC registers a key for this session right away.
      if (device && transport === "cookie") device.registrationHeaders(pair.headers, record.id);
      return {
        session,
        headers: pair.headers,
        token: pair.accessToken,
        refreshToken: pair.refreshToken,
      };
    }
    if (jwt) return { session, ...jwt.issue(record, transport, now) };
    const headers = opaque.tokenHeaders(secret.token, transport, record.absoluteExpiresAt, now);
    // A browser that speaks DBSC registers a key for this session right away.
    if (device && transport === "cookie") device.registrationHeaders(headers, record.id);
    return { session, headers, token: secret.token };
  }

  async function logout(request: RequestLike) {
    const found = await presented(request, clock());
    // Sign-out rides cookies like any unsafe request, so the same CSRF rule applies; a
    // refused one changes nothing, the cookies included.
    // Without a session too: a cross-site page's POST carries no SameSite=Lax cookie, and an
    // answer clearing the cookies would still sign the user out (logout CSRF).
    const crossSite =
      !found &&
      readCredential(request, cookieName, o.transports).transport !== "header" &&
      !checkCsrf(request, null);
    if ((found && !endsByRequest(request, found)) || crossSite) {
      const refused = ix.failure("csrf", "cookie", []);
      refused.headers.set("cache-control", "no-store");
      return { revoked: false, headers: refused.headers, failure: refused.failure };
    }
    // Every cookie goes, whether or not a session was proven: none of them is worth keeping.
    const headers = new Headers({ "cache-control": "no-store" });
    headers.append("set-cookie", cookies.clear(cookieName));
    headers.append("set-cookie", cookies.clear(cookies.names.csrf));
    if (refresher) {
      headers.append("set-cookie", cookies.clear(cookies.names.refresh));
      headers.append("set-cookie", cookies.clear(cookies.names.refreshBinding));
    }
    const gone = found ? await storeCall(() => store.delete(found.id, "logout")) : null;
    if (gone) {
      revoked(gone, "logout");
      return { revoked: true, headers, failure: null };
    }
    // No live session was proven: answered as any unauthenticated request (401), with the
    // cookies cleared all the same.
    const credential = readCredential(request, cookieName, o.transports);
    // A token past the bound of `presentedSessionId` answers `expired`: its own client then
    // refreshes and signs out with the new one.
    const reason = found
      ? "unknown_session"
      : !credential.ok
        ? credential.reason
        : jwt?.lapsedTooLong(request)
          ? "expired"
          : "invalid_token";
    const { failure } = ix.failure(reason, found?.transport ?? credential.transport, []);
    return { revoked: false, headers, failure };
  }

  async function update(sessionId: string, patch: Partial<Data> | ((data: Data) => Data)) {
    // Optimistic concurrency: re-read and re-apply on conflict, so that two concurrent updates
    // of different fields both survive. A function patch must therefore be pure.
    for (let attempt = 0; attempt < 8; attempt++) {
      const now = clock();
      const record = await storeCall(() => store.get(sessionId, now));
      if (!record || record.strategy !== o.strategy) {
        throw new SessionError("SESSION_NOT_FOUND", "no live session with this id");
      }
      const current = record.data as Data;
      const next =
        typeof patch === "function" ? patch(structuredClone(current)) : { ...current, ...patch };
      const mark = cache?.mark();
      const result = await storeCall(() =>
        store.update(sessionId, { now, expectedVersion: record.version, data: next }),
      );
      if (result.status === "updated") {
        cache?.set(result.record, now, mark);
        return toSession(result.record, "cookie", next);
      }
      cache?.delete(sessionId);
      if (result.status === "missing")
        throw new SessionError("SESSION_NOT_FOUND", "no live session with this id");
    }
    throw new SessionError("UPDATE_CONFLICT", "session data kept changing; update abandoned");
  }

  const manager: SessionManager<Data> = {
    strategy: o.strategy,
    cookieNames: cookies.names,
    authenticate,
    create,
    logout,
    update,
    checkCsrf,

    async refresh(request, input) {
      if (!refresher)
        throw new SessionError("CONFIG_INVALID", "refresh belongs to the hybrid strategy");
      return refresher.refresh(request, input);
    },

    async revoke(sessionId) {
      if (typeof sessionId !== "string" || !isSessionId(sessionId)) return false;
      const gone = await storeCall(() => store.delete(sessionId, "revoked"));
      if (gone) revoked(gone, "revoked");
      return gone !== null;
    },

    async revokeUser(userId, opts = {}) {
      checkUserId(userId, "revokeUser");
      const gone = await storeCall(() =>
        store.deleteUser(userId, {
          strategy: o.strategy,
          reason: "revoked-user",
          ...(opts.except === undefined ? {} : { except: opts.except }),
        }),
      );
      for (const record of gone) revoked(record, "revoked-user");
      return gone.map((r) => r.id);
    },

    async list(userId, opts = {}) {
      checkUserId(userId, "list");
      const records = await storeCall(() => store.listUser(userId, clock()));
      return records
        .filter((r) => r.strategy === o.strategy)
        .map((r) => ({
          id: r.id,
          createdAt: new Date(r.createdAt),
          lastActiveAt: new Date(r.lastActiveAt),
          expiresAt: new Date(r.expiresAt),
          ip: r.ip,
          userAgent: r.userAgent,
          current: r.id === opts.current,
          deviceBound: (r.binding ?? null) !== null,
        }));
    },

    async get(sessionId) {
      if (!isSessionId(sessionId)) return null;
      const record = await storeCall(() => store.get(sessionId, clock()));
      if (!record || record.strategy !== o.strategy) return null;
      const data = await ix.readData(record);
      return data === null ? null : toSession(record, "cookie", data);
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
