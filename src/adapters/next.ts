import type { SessionManager } from "../core/manager.js";
import type { CreateInput, RequestLike, Session } from "../core/types.js";
import type { JsonObject } from "../stores/types.js";
import {
  applyHeaders,
  requireSession as fetchRequireSession,
  refusalResponse,
  sessionErrorResponse,
} from "./fetch.js";
import { type CookieJar, forwarded, setCookies } from "./next-cookies.js";
import {
  authenticateOutcome,
  signInFrom,
  signOutFrom,
  userSession,
  withMutableHeaders,
} from "./outcome.js";

export { type CookieJar, type CookieSetOptions, parseSetCookie } from "./next-cookies.js";

/**
 * Next.js (App Router, 15.5+ and 16) for the Fetch adapter's manager.
 *
 * A renewal is only worth doing where its cookie can be set: `proxy.ts` (`middleware.ts`
 * before Next 16), route handlers and server actions. A React Server Component cannot set a
 * cookie, so it reads the session read-only: renewing there would rotate the token in the
 * store and throw the new one away, and the browser's cookie would stop working once the
 * grace ran out.
 *
 * Nothing here imports `next`: the adapter takes what it needs from the caller
 * (`NextResponse`, `await headers()`, `await cookies()`), so that it loads in any runtime
 * (tests included) and never holds a second copy of Next's request-scoped modules.
 */

/** What the proxy needs of `NextResponse` from `next/server`. */
export interface NextResponseLike {
  next(init?: { request?: { headers?: Headers } }): Response;
}

/** What the Server Component and server-action helpers read of `await headers()`. */
export type HeadersLike = RequestLike["headers"];

export interface ProxyOptions {
  /**
   * Paths that need a session (a prefix, e.g. `"/account"`, or a test on the pathname): a
   * signed-out visitor is sent to `signInPath` with the page in `?next=`. Default: none.
   */
  protect?: readonly string[] | ((pathname: string) => boolean);
  /** Where a signed-out visitor of a protected page goes. Default `/login`. */
  signInPath?: string;
}

/**
 * The `proxy` of `proxy.ts`: authenticates every request it matches and renews the session
 * there (the one place a page request can set a cookie). A renewed cookie goes onto the
 * response, and into the `Cookie` header forwarded to the page, so that the Server
 * Components of this same request read the new token. A cross-site unsafe request that
 * rides the session cookie answers 403 (problem+json).
 *
 * @example
 * ```ts
 * // proxy.ts
 * import { NextResponse } from "next/server";
 * import type { SessionManager } from "sessionkit";
 * import { sessionProxy } from "sessionkit/adapters/next";
 *
 * declare const sessions: SessionManager; // lib/sessions.ts: one manager per process
 *
 * export const proxy = sessionProxy(sessions, NextResponse, { protect: ["/account"] });
 * export const config = { matcher: ["/((?!api/|_next/static|_next/image|favicon.ico).*)"] };
 * ```
 */
export function sessionProxy<Data extends JsonObject>(
  manager: SessionManager<Data>,
  NextResponse: NextResponseLike,
  options: ProxyOptions = {},
): (request: Request) => Promise<Response> {
  const signInPath = options.signInPath ?? "/login";
  const prefixes = options.protect ?? [];
  const protects =
    typeof prefixes === "function"
      ? prefixes
      : (path: string) => prefixes.some((p) => path === p || path.startsWith(`${p}/`));
  return async (request) => {
    const pending = authenticateOutcome(manager, request);
    const outcome = pending instanceof Promise ? await pending : pending;
    const url = new URL(request.url);
    if (outcome.refusal?.status === 403) return refusalResponse(outcome.refusal);
    // A guest session is not a signed-in user: a protected page sends it to sign in too.
    if (!userSession(outcome.session) && protects(url.pathname)) {
      if (outcome.error && outcome.refusal) return refusalResponse(outcome.refusal);
      const target = new URL(signInPath, url);
      target.searchParams.set("next", url.pathname + url.search);
      const redirect = new Response(null, { status: 303, headers: { location: target.href } });
      return noStore(applyHeaders(redirect, outcome.headers));
    }
    const cookies = outcome.headers?.getSetCookie() ?? [];
    if (!cookies.length) return NextResponse.next();
    const headers = forwarded(request.headers, cookies);
    return noStore(applyHeaders(NextResponse.next({ request: { headers } }), outcome.headers));
  };
}

/**
 * A response that sets a cookie belongs in no shared cache, even when the page behind it is
 * static (Next answers those `s-maxage=31536000`); the proxy's header wins over the page's.
 */
function noStore(response: Response): Response {
  if (response.headers.has("set-cookie")) response.headers.set("cache-control", "no-store");
  return response;
}

export type RouteHandler<Data extends JsonObject, Context> = (
  request: Request,
  session: Session<Data>,
  context: Context,
) => Response | Promise<Response>;

/**
 * A route handler (`export const GET = requireSession(sessions, handler)`) that runs only
 * for an authenticated request: 401/403/503 as problem+json otherwise. Renewal cookies reach
 * the handler's response, with `Cache-Control: no-store` unless the handler set its own.
 *
 * @example
 * ```ts
 * // app/api/me/route.ts
 * import type { SessionManager } from "sessionkit";
 * import { requireSession } from "sessionkit/adapters/next";
 *
 * declare const sessions: SessionManager;
 *
 * export const GET = requireSession(sessions, (_request, session) =>
 *   Response.json({ userId: session.userId }),
 * );
 * ```
 */
export function requireSession<Data extends JsonObject, Context = unknown>(
  manager: SessionManager<Data>,
  handler: RouteHandler<Data, Context>,
): (request: Request, context: Context) => Promise<Response> {
  return (request, context) =>
    fetchRequireSession(manager, (r, session) => handler(r, session, context))(request);
}

/**
 * Signs in from a route handler and answers with `respond(session)` (default
 * `{ userId }` as JSON), the session cookie on it. A cross-site sign-in (login CSRF) answers
 * 403 and an unreachable store 503, as problem+json, with nothing created.
 *
 * @example
 * ```ts
 * // app/api/login/route.ts
 * import type { SessionManager } from "sessionkit";
 * import { signIn } from "sessionkit/adapters/next";
 *
 * declare const sessions: SessionManager;
 * declare function checkPassword(form: FormData): Promise<string | null>; // yours
 *
 * export async function POST(request: Request) {
 *   const userId = await checkPassword(await request.formData());
 *   if (!userId) return Response.json({ error: "wrong username or password" }, { status: 401 });
 *   return signIn(sessions, request, { userId }, (session) =>
 *     Response.json({ userId: session.userId }),
 *   );
 * }
 * ```
 */
export function signIn<Data extends JsonObject>(
  manager: SessionManager<Data>,
  request: Request,
  input: Omit<CreateInput<Data>, "request">,
  respond: (session: Session<Data>) => Response | Promise<Response> = (session) =>
    Response.json({ userId: session.userId }),
): Promise<Response> {
  return answered(async () => {
    const issued = await signInFrom(manager, request, input);
    return withHeaders(await respond(issued.session), issued.headers);
  });
}

/**
 * Signs out from a route handler: the session is revoked and every cookie cleared, answered
 * by `respond()` (default 204). A cross-site sign-out riding the cookie answers 403 and
 * changes nothing.
 *
 * @example
 * ```ts
 * // app/api/logout/route.ts
 * import type { SessionManager } from "sessionkit";
 * import { signOut } from "sessionkit/adapters/next";
 *
 * declare const sessions: SessionManager;
 *
 * export const POST = (request: Request) => signOut(sessions, request);
 * ```
 */
export function signOut<Data extends JsonObject>(
  manager: SessionManager<Data>,
  request: Request,
  respond: () => Response | Promise<Response> = () => new Response(null, { status: 204 }),
): Promise<Response> {
  return answered(async () => {
    const { headers } = await signOutFrom(manager, request);
    return withHeaders(await respond(), headers);
  });
}

/** sessionkit's errors (403 cross-site, 503 store down) as problem details; others thrown. */
async function answered(run: () => Promise<Response>): Promise<Response> {
  try {
    return await run();
  } catch (error) {
    const answer = sessionErrorResponse(error);
    if (answer) return answer;
    throw error;
  }
}

function withHeaders(response: Response, headers: Headers): Response {
  return withMutableHeaders(response, (r) => applyHeaders(r, headers));
}

/**
 * The session in a Server Component (or anywhere that cannot set a cookie):
 * `await readSession(sessions, await headers())`. Read-only: it never renews and never
 * writes; `proxy.ts` renews. Bad input is `null`, never a throw; an unreachable store throws
 * `STORE_UNAVAILABLE` (fail-closed), for the nearest error boundary.
 *
 * @example
 * ```ts
 * // app/account/page.tsx
 * import { headers } from "next/headers";
 * import { redirect } from "next/navigation";
 * import { connection } from "next/server";
 * import type { SessionManager } from "sessionkit";
 * import { readSession } from "sessionkit/adapters/next";
 *
 * declare const sessions: SessionManager;
 *
 * export default async function Account() {
 *   await connection(); // per request, not prerendered
 *   const session = await readSession(sessions, await headers());
 *   if (!session?.userId) redirect("/login"); // no session, or a guest's
 *   return `Signed in as ${session.userId}`;
 * }
 * ```
 */
export async function readSession<Data extends JsonObject>(
  manager: SessionManager<Data>,
  headers: HeadersLike,
): Promise<Session<Data> | null> {
  const { session } = await manager.authenticate({ method: "GET", headers }, { readOnly: true });
  return session;
}

/**
 * The session in a server action, renewed when due (`await cookies()` sets the cookie):
 * `await actionSession(sessions, await headers(), await cookies())`. A server action is a
 * POST, so a cross-site one riding the cookie gets `null`, as without a session.
 *
 * @example
 * ```ts
 * "use server";
 * import { cookies, headers } from "next/headers";
 * import type { SessionManager } from "sessionkit";
 * import { actionSession } from "sessionkit/adapters/next";
 *
 * declare const sessions: SessionManager;
 *
 * export async function addToCart(item: string) {
 *   const session = await actionSession(sessions, await headers(), await cookies());
 *   if (!session) throw new Error("signed out");
 *   const cart = Array.isArray(session.data.cart) ? session.data.cart : [];
 *   await sessions.update(session.id, { data: { ...session.data, cart: [...cart, item] } });
 * }
 * ```
 */
export async function actionSession<Data extends JsonObject>(
  manager: SessionManager<Data>,
  headers: HeadersLike,
  cookies: CookieJar,
): Promise<Session<Data> | null> {
  const outcome = await inAction(headers, cookies, async (request) => {
    const found = await authenticateOutcome(manager, request);
    if (found.error) throw found.error;
    return found;
  });
  return outcome.session;
}

/**
 * Signs in from a server action: the session cookie through `cookies`. A cross-site sign-in
 * throws `SessionError` `CSRF_FAILED` with nothing created.
 *
 * @example
 * ```ts
 * "use server";
 * import { cookies, headers } from "next/headers";
 * import { redirect } from "next/navigation";
 * import type { SessionManager } from "sessionkit";
 * import { signInAction } from "sessionkit/adapters/next";
 *
 * declare const sessions: SessionManager;
 * declare function checkPassword(form: FormData): Promise<string | null>; // yours
 *
 * export async function signInNow(form: FormData) {
 *   const userId = await checkPassword(form);
 *   if (!userId) return { error: "wrong username or password" };
 *   await signInAction(sessions, await headers(), await cookies(), { userId });
 *   redirect("/account");
 * }
 * ```
 */
export async function signInAction<Data extends JsonObject>(
  manager: SessionManager<Data>,
  headers: HeadersLike,
  cookies: CookieJar,
  input: Omit<CreateInput<Data>, "request">,
): Promise<Session<Data>> {
  const issued = await inAction(headers, cookies, (request) => signInFrom(manager, request, input));
  return issued.session;
}

/**
 * Signs out from a server action: revokes the session and clears every cookie through
 * `cookies`. A cross-site sign-out throws `SessionError` `CSRF_FAILED` and changes nothing.
 *
 * @example
 * ```ts
 * // lib/actions.ts
 * "use server";
 * import { cookies, headers } from "next/headers";
 * import { redirect } from "next/navigation";
 * import type { SessionManager } from "sessionkit";
 * import { signOutAction } from "sessionkit/adapters/next";
 *
 * declare const sessions: SessionManager;
 *
 * export async function signOutNow() {
 *   await signOutAction(sessions, await headers(), await cookies());
 *   redirect("/login");
 * }
 * ```
 */
export async function signOutAction<Data extends JsonObject>(
  manager: SessionManager<Data>,
  headers: HeadersLike,
  cookies: CookieJar,
): Promise<{ revoked: boolean }> {
  const { revoked } = await inAction(headers, cookies, (request) => signOutFrom(manager, request));
  return { revoked };
}

/** A server action as the core reads it: Next sends every action as a POST. */
function actionRequest(headers: HeadersLike): RequestLike {
  return { method: "POST", headers };
}

/** Runs `call` on a server action's request; the headers it returns go through `cookies`. */
async function inAction<Result extends { headers: Headers | null }>(
  headers: HeadersLike,
  cookies: CookieJar,
  call: (request: RequestLike) => Promise<Result>,
): Promise<Result> {
  const result = await call(actionRequest(headers));
  setCookies(cookies, result.headers);
  return result;
}
