import { isSafeMethod, originAllowed } from "../csrf/origin.js";
import { createCsrfToken, verifyCsrfToken } from "../csrf/token.js";
import { SessionError } from "../errors.js";
import type { JsonObject, RevocationReason, StoredSession } from "../stores/types.js";
import { generateOpaqueToken, isSessionId } from "../tokens/opaque.js";
import { readCredential } from "./credentials.js";
import { type Duration, parseDuration } from "./duration.js";
import { type NormalizedOptions, normalizeOptions } from "./options.js";
import { renewOpaqueToken, verifyOpaqueToken } from "./strategies/id.js";
import type {
  AuthFailure,
  AuthResult,
  CreateInput,
  FailureReason,
  IssuedSession,
  RequestLike,
  Session,
  SessionInfo,
  SessionManagerOptions,
  Transport,
} from "./types.js";

/** Header that carries a renewed token back to header-transport clients. */
export const RENEWED_TOKEN_HEADER = "x-session-token";

export interface SessionManager<Data extends JsonObject = JsonObject> {
  readonly strategy: SessionManagerOptions<Data>["strategy"];
  readonly cookieNames: NormalizedOptions<Data>["cookies"]["names"];
  authenticate(request: RequestLike): Promise<AuthResult<Data>>;
  create(input: CreateInput<Data>): Promise<IssuedSession<Data>>;
  logout(request: RequestLike): Promise<{ revoked: boolean; headers: Headers }>;
  revoke(sessionId: string): Promise<boolean>;
  revokeUser(userId: string, options?: { except?: string }): Promise<string[]>;
  list(userId: string, options?: { current?: string }): Promise<SessionInfo[]>;
  get(sessionId: string): Promise<Session<Data> | null>;
  update(sessionId: string, patch: Partial<Data> | ((data: Data) => Data)): Promise<Session<Data>>;
  requireRecentAuth(session: Session<Data>, maxAge: Duration): void;
  /** A CSRF token bound to the session (or to "no session" for sign-in forms). */
  csrfToken(session: Session<Data> | null): { token: string; headers: Headers };
  /** The CSRF check `authenticate` applies, for routes without a session such as sign-in. */
  checkCsrf(request: RequestLike, session: Session<Data> | null): boolean;
  /** Stops background cleanup. The store is the caller's to close. */
  close(): void;
}

export function createSessionManager<Data extends JsonObject = JsonObject>(
  options: SessionManagerOptions<Data>,
): SessionManager<Data> {
  const o = normalizeOptions(options);
  if (o.strategy !== "id") {
    throw new SessionError("STRATEGY_UNSUPPORTED", `strategy "${o.strategy}" is not available yet`);
  }
  const { store, clock, events, cookies, lifetimes } = o;
  const cookieName = cookies.names.session;
  const emit = safeEmitter(o);

  let timer: NodeJS.Timeout | null = null;
  if (o.cleanup) {
    const { batch } = o.cleanup;
    timer = setInterval(() => {
      store.deleteExpired(clock(), batch).then(
        (gone) => {
          for (const r of gone) emit("onExpire", { sessionId: r.id, userId: r.userId });
        },
        () => {}, // an outage is reported by requests and /healthz; cleanup retries next tick
      );
    }, o.cleanup.interval);
    timer.unref();
  }

  const toSession = (record: StoredSession, transport: Transport, data: Data): Session<Data> => ({
    id: record.id,
    userId: record.userId,
    strategy: record.strategy,
    data,
    createdAt: new Date(record.createdAt),
    lastActiveAt: new Date(record.lastActiveAt),
    expiresAt: new Date(record.expiresAt),
    absoluteExpiresAt: new Date(record.absoluteExpiresAt),
    authTime: new Date(record.authTime),
    ip: record.ip,
    userAgent: record.userAgent,
    version: record.version,
    transport,
  });

  const readData = async (record: StoredSession): Promise<Data | null> => {
    if (!o.schema) return record.data as Data;
    const result = await o.schema["~standard"].validate(record.data);
    return result.issues ? null : (result.value as Data);
  };

  const fail = (reason: FailureReason, transport: Transport | null, headers = new Headers()) => {
    const status = reason === "csrf" ? 403 : reason === "store_unavailable" ? 503 : 401;
    const failure: AuthFailure = { reason, status, transport };
    emit("onAuthFailure", failure);
    // A cookie that cannot authenticate is cleared so the browser stops sending it.
    if (transport === "cookie" && status === 401)
      headers.append("set-cookie", cookies.clear(cookieName));
    return { session: null, failure, headers, renewedToken: null } as const;
  };

  const storeCall = async <T>(operation: () => Promise<T>): Promise<T> => {
    try {
      return await operation();
    } catch (error) {
      if (error instanceof SessionError) throw error;
      throw new SessionError("STORE_UNAVAILABLE", `${store.name} store failed`, { cause: error });
    }
  };

  const tokenHeaders = (
    token: string,
    transport: Transport,
    record: StoredSession,
    now: number,
  ) => {
    const headers = new Headers({ "cache-control": "no-store" });
    if (transport === "cookie") {
      headers.append("set-cookie", cookies.set(cookieName, token, record.absoluteExpiresAt - now));
    } else {
      headers.set(RENEWED_TOKEN_HEADER, token);
    }
    return headers;
  };

  const checkCsrf = (request: RequestLike, session: Session<Data> | null): boolean =>
    isSafeMethod(request.method) ||
    originAllowed(request.headers, o.origins) ||
    verifyCsrfToken(o.csrfKey, session?.id ?? "", request.headers.get("x-csrf-token"));

  const revoked = (record: StoredSession, reason: RevocationReason) =>
    emit("onRevoke", { sessionId: record.id, userId: record.userId, reason });

  async function authenticate(request: RequestLike): Promise<AuthResult<Data>> {
    const now = clock();
    const credential = readCredential(request, cookieName, o.transports);
    if (!credential.ok) return fail(credential.reason, credential.transport);
    const { transport, token } = credential;
    let verified: Awaited<ReturnType<typeof verifyOpaqueToken>>;
    try {
      verified = await storeCall(() => verifyOpaqueToken(store, token, now));
    } catch (error) {
      if (o.onStoreError === "anonymous") return fail("store_unavailable", transport);
      throw error;
    }
    if (typeof verified === "string") return fail(verified, transport);
    let record = verified.record;
    if (record.strategy !== o.strategy) return fail("wrong_strategy", transport);
    const data = await readData(record);
    if (data === null) return fail("invalid_data", transport);
    let session = toSession(record, transport, data);
    if (transport === "cookie" && !checkCsrf(request, session)) return fail("csrf", transport);

    let replacement = verified.replacement;
    const slid = Math.min(now + lifetimes.idle, record.absoluteExpiresAt);
    try {
      if (verified.current && now - record.renewedAt >= lifetimes.renewal) {
        const renewed = await storeCall(() =>
          renewOpaqueToken(store, verified, now, lifetimes.grace, slid),
        );
        record = { ...renewed.record, lastActiveAt: now };
        replacement = renewed.token;
        await storeCall(() => store.touch(record.id, { now, lastActiveAt: now, expiresAt: slid }));
      } else if (now - record.lastActiveAt >= o.touchEvery) {
        await storeCall(() => store.touch(record.id, { now, lastActiveAt: now, expiresAt: slid }));
        record = { ...record, lastActiveAt: now, expiresAt: slid };
      }
    } catch (error) {
      // The request itself is authenticated; a failed housekeeping write must not deny it
      // unless the operator chose to fail closed on store errors.
      if (o.onStoreError === "fail-closed") throw error;
    }
    const headers = replacement ? tokenHeaders(replacement, transport, record, now) : new Headers();
    if (record !== verified.record) session = toSession(record, transport, data);
    return {
      session,
      failure: null,
      headers,
      renewedToken: transport === "header" ? replacement : null,
    };
  }

  async function create(input: CreateInput<Data>): Promise<IssuedSession<Data>> {
    const now = clock();
    if (typeof input?.userId !== "string" || input.userId === "") {
      throw new SessionError("CONFIG_INVALID", "create: userId must be a non-empty string");
    }
    const transport = input.transport ?? "cookie";
    // Sign-in always starts a fresh session; one the request still carries is ended first.
    if (input.request) {
      const previous = readCredential(input.request, cookieName, o.transports);
      if (previous.ok) {
        const found = await storeCall(() => verifyOpaqueToken(store, previous.token, now));
        if (
          typeof found !== "string" &&
          (await storeCall(() => store.delete(found.record.id, "logout")))
        ) {
          revoked(found.record, "logout");
        }
      }
    }
    const userAgent = input.userAgent ?? input.request?.headers.get("user-agent") ?? null;
    const authTime = input.authTime === undefined ? now : Number(input.authTime);
    const opaque = generateOpaqueToken();
    const record: StoredSession = {
      id: opaque.id,
      userId: input.userId,
      strategy: o.strategy,
      secretHash: opaque.secretHash,
      previousSecretHash: null,
      previousValidUntil: null,
      successor: null,
      createdAt: now,
      lastActiveAt: now,
      renewedAt: now,
      authTime,
      expiresAt: Math.min(now + lifetimes.idle, now + lifetimes.absolute),
      absoluteExpiresAt: now + lifetimes.absolute,
      ip: input.ip ?? null,
      userAgent: userAgent === null ? null : userAgent.slice(0, 512),
      data: input.data ?? {},
      version: 0,
    };
    const newDevice = events.onNewDevice
      ? !(await storeCall(() => store.listUser(input.userId, now))).some(
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
    return {
      session,
      headers: tokenHeaders(opaque.token, transport, record, now),
      token: opaque.token,
    };
  }

  async function logout(request: RequestLike) {
    const now = clock();
    const headers = new Headers({ "cache-control": "no-store" });
    headers.append("set-cookie", cookies.clear(cookieName));
    headers.append("set-cookie", cookies.clear(cookies.names.csrf));
    const credential = readCredential(request, cookieName, o.transports);
    if (!credential.ok) return { revoked: false, headers };
    const found = await storeCall(() => verifyOpaqueToken(store, credential.token, now));
    if (typeof found === "string") return { revoked: false, headers };
    const gone = await storeCall(() => store.delete(found.record.id, "logout"));
    if (gone) revoked(gone, "logout");
    return { revoked: gone !== null, headers };
  }

  return {
    strategy: o.strategy,
    cookieNames: cookies.names,
    authenticate,
    create,
    logout,

    async revoke(sessionId) {
      if (typeof sessionId !== "string" || !isSessionId(sessionId)) return false;
      const gone = await storeCall(() => store.delete(sessionId, "revoked"));
      if (gone) revoked(gone, "revoked");
      return gone !== null;
    },

    async revokeUser(userId, opts = {}) {
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
        }));
    },

    async get(sessionId) {
      if (!isSessionId(sessionId)) return null;
      const record = await storeCall(() => store.get(sessionId, clock()));
      if (!record || record.strategy !== o.strategy) return null;
      const data = await readData(record);
      return data === null ? null : toSession(record, "cookie", data);
    },

    async update(sessionId, patch) {
      // Optimistic concurrency: re-read and re-apply on conflict, so that two concurrent
      // updates of different fields both survive. A function patch must be pure.
      for (let attempt = 0; attempt < 8; attempt++) {
        const now = clock();
        const record = await storeCall(() => store.get(sessionId, now));
        if (!record || record.strategy !== o.strategy) {
          throw new SessionError("SESSION_NOT_FOUND", "no live session with this id");
        }
        const current = record.data as Data;
        const next =
          typeof patch === "function" ? patch(structuredClone(current)) : { ...current, ...patch };
        const result = await storeCall(() =>
          store.update(sessionId, { now, expectedVersion: record.version, data: next }),
        );
        if (result.status === "updated") return toSession(result.record, "cookie", next);
        if (result.status === "missing") {
          throw new SessionError("SESSION_NOT_FOUND", "no live session with this id");
        }
      }
      throw new SessionError("UPDATE_CONFLICT", "session data kept changing; update abandoned");
    },

    requireRecentAuth(session, maxAge) {
      const limit = parseDuration(maxAge, "maxAge");
      if (clock() - session.authTime.getTime() > limit) {
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

    checkCsrf,

    close() {
      if (timer) clearInterval(timer);
      timer = null;
    },
  };
}

/** Calls event handlers so that a throwing handler never breaks the request that fired it. */
function safeEmitter<Data extends JsonObject>(o: NormalizedOptions<Data>) {
  return <K extends keyof typeof o.events>(
    name: K,
    payload: Parameters<NonNullable<(typeof o.events)[K]>>[0],
  ) => {
    const handler = o.events[name] as ((value: typeof payload) => void) | undefined;
    if (!handler) return;
    try {
      handler(payload);
    } catch {
      // Audit hooks are observers; their failures are theirs to log.
    }
  };
}
