import { failureAnswer } from "../core/failure.js";
import { type RawAuthResult, rawAuthenticate } from "../core/hot-path.js";
import type { SessionManager } from "../core/manager.js";
import type {
  AuthFailure,
  CreateInput,
  IssuedSession,
  RequestLike,
  Session,
} from "../core/types.js";
import { configError, isSessionError, SessionError } from "../errors.js";
import type { JsonObject } from "../stores/types.js";

/**
 * What the framework adapters share: one authentication outcome that each of them turns into
 * its own idiom (a `req.session`, a decorator, a context variable) and one way to refuse.
 */
export interface Refusal {
  status: 401 | 403 | 503;
  /** The problem `code`: `unauthorized`, `session_expired`, `csrf_failed`, `store_unavailable`. */
  code: string;
  title: string;
  /** Headers of the refusal itself (`WWW-Authenticate`, `Retry-After`), beside `Outcome.headers`. */
  headers: Headers;
}

export interface Outcome<Data extends JsonObject> {
  session: Session<Data> | null;
  /**
   * For the response in any case: renewed cookies, sliding expiry, clearing a dead cookie.
   * `null` when there is nothing to set (most requests).
   */
  headers: Headers | null;
  /** Why there is no session, as a guard answers it; `null` when there is one. */
  refusal: Refusal | null;
  /** The store could not be asked: the error to hand to the framework (status 503). */
  error: SessionError | null;
}

/**
 * `Cache-Control` of every response to an authenticated request whose application set none:
 * it is about one user (who, their devices, their tokens) and belongs in no shared or browser
 * cache (OWASP session management cheat sheet). Each adapter sets it on the framework's own
 * response, so that no `Headers` object is built for it.
 */
export const AUTHENTICATED_CACHE_CONTROL = "no-store";

/**
 * `manager.authenticate`, with a store outage as an outcome instead of a rejection.
 * Synchronous when the manager answered without I/O (a `jwt` or `hybrid` token seen before):
 * `const o = authenticateOutcome(m, r); const outcome = o instanceof Promise ? await o : o;`
 */
export function authenticateOutcome<Data extends JsonObject>(
  manager: SessionManager<Data>,
  request: RequestLike,
): Outcome<Data> | Promise<Outcome<Data>> {
  const result = rawAuthenticate(manager, request);
  return result instanceof Promise ? result.then(toOutcome, storeOutcome) : toOutcome(result);
}

function toOutcome<Data extends JsonObject>(result: RawAuthResult<Data>): Outcome<Data> {
  if (result.session) {
    return { session: result.session, headers: result.headers, refusal: null, error: null };
  }
  const refusal = refusalFor(result.failure);
  // The next DPoP nonce belongs to the refusal itself: a guard that answers later (Hono's
  // builds a new response) must carry it, or the client has nothing to retry with.
  const nonce = result.headers?.get("dpop-nonce");
  if (nonce) refusal.headers.set("dpop-nonce", nonce);
  return { session: null, headers: result.headers, refusal, error: null };
}

function storeOutcome(error: unknown): Outcome<never> {
  if (!isSessionError(error, "STORE_UNAVAILABLE")) throw error;
  return { session: null, headers: null, refusal: storeRefusal(), error };
}

/**
 * How a failure is answered (one mapping for every adapter, `failureAnswer`), with the
 * refusal's own headers: RFC 6750 `WWW-Authenticate` for header transport, `Retry-After`
 * while the store is down.
 */
export function refusalFor(failure: AuthFailure): Refusal {
  const answer = failureAnswer(failure);
  const headers = new Headers();
  if (answer.wwwAuthenticate) headers.set("www-authenticate", answer.wwwAuthenticate);
  if (answer.status === 503) headers.set("retry-after", "1");
  return { status: answer.status, code: answer.code, title: answer.title, headers };
}

export const storeRefusal = () =>
  refusalFor({ status: 503, reason: "store_unavailable", transport: null });
export const csrfRefusal = () => refusalFor({ status: 403, reason: "csrf", transport: null });
export const unauthorizedRefusal = () =>
  refusalFor({ status: 401, reason: "missing", transport: null });

/** The refusal an error thrown by sessionkit answers with, or `null` for any other error. */
export function refusalOf(error: unknown): Refusal | null {
  if (!(error instanceof SessionError)) return null;
  if (error.code === "STORE_UNAVAILABLE") return storeRefusal();
  if (error.code === "CSRF_FAILED") return csrfRefusal();
  if (error.code === "DPOP_REFUSED") {
    const refusal = refusalFor({ status: 401, reason: "dpop_invalid", transport: "header" });
    for (const [name, value] of Object.entries(error.headers)) refusal.headers.set(name, value);
    return refusal;
  }
  return null;
}

/** RFC 9457 problem details body with a stable `code` member. */
export function problemBody(refusal: { status: number; code: string; title: string }): string {
  const { status, code, title } = refusal;
  return JSON.stringify({ type: "about:blank", title, status, code });
}

/**
 * Signs in from a request: refuses a cross-site sign-in (login CSRF) with a `CSRF_FAILED`
 * error before anything is created, and ends a session the request already carried.
 */
export async function signInFrom<Data extends JsonObject>(
  manager: SessionManager<Data>,
  request: RequestLike,
  input: Omit<CreateInput<Data>, "request">,
): Promise<IssuedSession<Data>> {
  if (!manager.checkCsrf(request, null)) {
    throw new SessionError("CSRF_FAILED", "cross-site sign-in refused");
  }
  return manager.create({ ...input, request });
}

/**
 * Signs out from a request: a cross-site sign-out is refused with a `CSRF_FAILED` error (403,
 * nothing changed); otherwise the session the request proves is revoked and the headers clear
 * every cookie. `revoked` is false when no live session was proven.
 */
export async function signOutFrom<Data extends JsonObject>(
  manager: SessionManager<Data>,
  request: RequestLike,
): Promise<{ revoked: boolean; headers: Headers }> {
  const { revoked, headers, failure } = await manager.logout(request);
  if (failure?.reason === "csrf")
    throw new SessionError("CSRF_FAILED", "cross-site sign-out refused");
  return { revoked, headers };
}

/** What an adapter remembers of one request between its middleware and its helpers. */
interface RequestState {
  manager: SessionManager<JsonObject>;
  refusal: Refusal | null;
}

/**
 * Per-request state, kept on the framework's request object itself under a symbol of its
 * own (it lives exactly as long as the request, and costs less than a `WeakMap` entry on
 * every request). Reading a request the middleware did not see throws a configuration error
 * naming the missing middleware.
 */
export function requestStates<Key extends object>(missing: string) {
  const slot = Symbol("sessionkit.requestState");
  type Holder = { [slot]?: RequestState };
  const get = (key: Key): RequestState => {
    const state = (key as Holder)[slot];
    if (!state) throw configError(missing);
    return state;
  };
  return {
    /**
     * What a middleware calls on each request with its outcome's refusal. The state of a
     * request that has a session is made once per middleware, not per request.
     */
    recorder<Data extends JsonObject>(manager: SessionManager<Data>) {
      const signedIn: RequestState = {
        manager: manager as unknown as SessionManager<JsonObject>,
        refusal: null,
      };
      return (key: Key, refusal: Refusal | null) => {
        (key as Holder)[slot] = refusal ? { ...signedIn, refusal } : signedIn;
      };
    },
    /**
     * The manager the middleware ran with, typed with the helper's `Data` (the app's word for
     * its session data, as `Register` is): the state keeps it untyped.
     */
    manager: <Data extends JsonObject>(key: Key) =>
      get(key).manager as unknown as SessionManager<Data>,
    /** A guard's answer without a signed-in user: why the middleware found none, else 401. */
    refusal: (key: Key): Refusal => get(key).refusal ?? unauthorizedRefusal(),
  };
}

/** The session if a user is signed in with it, else `null`: a guard refuses a guest's too. */
export function userSession<Data extends JsonObject>(
  session: Session<Data> | null | undefined,
): Session<Data> | null {
  return session && session.userId !== null ? session : null;
}

/**
 * Session headers as a framework's own header calls take them: each `Set-Cookie` line apart
 * (`append`), any other header once.
 */
export function eachHeader(
  headers: Headers | null,
  write: (name: string, value: string, append: boolean) => void,
): void {
  if (headers === null) return;
  for (const cookie of headers.getSetCookie()) write("set-cookie", cookie, true);
  headers.forEach((value, name) => {
    if (name !== "set-cookie") write(name, value, false);
  });
}

/**
 * `change` made to a response's headers, or to a copy of the response where they are
 * immutable (`Response.redirect()`, a `fetch()` response).
 */
export function withMutableHeaders(
  response: Response,
  change: (response: Response) => Response,
): Response {
  try {
    return change(response);
  } catch {
    return change(new Response(response.body, response));
  }
}
