/**
 * `sessionkit/client`: the browser side. A `fetch` wrapper that adds the CSRF header, and for
 * `hybrid` refreshes the access token before it expires and on `401 session_expired`, with one
 * refresh in flight across every tab of the origin (Web Locks, or BroadcastChannel where
 * there are none), so that tabs never present a spent refresh token against each other.
 * Signing out, and a session the server refuses to refresh, is announced to every tab. No framework, no dependencies; it runs as it is.
 */
export {
  localStorageTokens,
  memoryTokens,
  sessionStorageTokens,
  type TokenStorage,
} from "./storage.js";

import type { TokenStorage } from "./storage.js";

export interface ClientOptions {
  /** Prefix of every path that is not a whole URL. Default `""` (same origin). */
  baseUrl?: string;
  /**
   * Origins, besides that of `baseUrl` (the page's own by default), that may receive the
   * Bearer token and the CSRF header, e.g. `["https://api.example"]`. Requests to any other
   * origin go out without them, and their 401s trigger no refresh.
   */
  origins?: string[];
  /** `"hybrid"` turns on refreshing. Default `"id"`. */
  strategy?: "id" | "jwt" | "hybrid";
  /** Where a CSRF token for the current session is fetched (`{ token }`). Default `/api/csrf`. */
  csrfPath?: string;
  /** Where the hybrid refresh is posted. Default `/api/hybrid/refresh`. */
  refreshPath?: string;
  /** Lifetime of an access token, to refresh before it ends (at 80%). Default 5 minutes. */
  accessLifetimeMs?: number;
  /** Header transport: where the tokens are kept. Without it, cookies carry them. */
  tokens?: TokenStorage;
  /** Name of the BroadcastChannel and Web Lock shared by the tabs. Default `sessionkit`. */
  channel?: string;
  fetch?: typeof fetch;
}

export interface SessionClient {
  /**
   * `fetch` with the CSRF header on unsafe methods, and one refresh-and-retry for hybrid. A
   * whole URL is taken as it is; only the trusted origins get the token and the CSRF header.
   */
  fetch(path: string, init?: RequestInit): Promise<Response>;
  /**
   * Refreshes now (once across tabs); `true` when the session is still good. A refresh the
   * server refuses (401) for a session this client knew of is announced as a sign-out.
   */
  refresh(): Promise<boolean>;
  /** Call after signing in: starts the refresh schedule and forgets any old CSRF token. */
  signedIn(tokens?: { accessToken?: string; refreshToken?: string }): void;
  /**
   * Posts the sign-out (for hybrid, refreshing and retrying once when the server answers
   * `session_expired`), forgets the tokens, and tells every tab.
   */
  signOut(path: string): Promise<void>;
  /**
   * Runs when this or another tab signs out, or finds its session refused at refresh (revoked,
   * reused, expired). Returns the unsubscribe function.
   */
  onSignOut(listener: () => void): () => void;
  close(): void;
}

/** Messages between tabs. */
type Message = { type: "refreshing" } | { type: "refreshed"; at: number } | { type: "signed-out" };

interface Locks {
  request<T>(name: string, callback: () => Promise<T>): Promise<T>;
}

const UNSAFE = /^(POST|PUT|PATCH|DELETE)$/i;
/** A URL with a scheme, or scheme-relative: not a path under `baseUrl`. */
const WHOLE_URL = /^([a-z][a-z\d+.-]*:|\/\/)/i;
/** A refresh within this long of the last one is not repeated. */
const RECENT = 1000;

export function createSessionClient(options: ClientOptions = {}): SessionClient {
  const base = options.baseUrl ?? "";
  const page = (globalThis as { location?: { href?: string } }).location?.href;
  const originOf = (url: string): string | null => {
    try {
      return new URL(url, page).origin;
    } catch {
      return null; // a relative URL with no page to resolve it against
    }
  };
  const target = (path: string) => (WHOLE_URL.test(path) ? path : `${base}${path}`);
  // Where the session's credentials may go: the origin of the base (the page's own by
  // default) and the ones listed. A token sent elsewhere is a token given away.
  const trusted = new Set<string>();
  const home = originOf(base || "/");
  if (home && home !== "null") trusted.add(home);
  for (const origin of options.origins ?? []) {
    const listed = /^https?:\/\//i.test(origin) ? originOf(origin) : null;
    if (!listed) throw new TypeError(`sessionkit/client: origins: ${origin} is not an origin`);
    trusted.add(listed);
  }
  const isTrusted = (url: string) => trusted.has(originOf(url) ?? "");
  const doFetch = options.fetch ?? globalThis.fetch.bind(globalThis);
  const hybrid = options.strategy === "hybrid";
  const lifetime = options.accessLifetimeMs ?? 5 * 60_000;
  const tokens = options.tokens;
  const name = options.channel ?? "sessionkit";
  const channel = typeof BroadcastChannel === "function" ? new BroadcastChannel(name) : null;
  const locks = (globalThis as { navigator?: { locks?: Locks } }).navigator?.locks ?? null;
  const listeners = new Set<() => void>();
  let csrf: string | null = null;
  // Whether this client knows of a session: signed in, refreshed, or told of an expired token.
  // A refusal is announced only then: a signed-out page probing for a refresh cookie must not
  // make every tab (its own included) react to a sign-out, again on each reload.
  let live = false;
  let lastRefresh = 0;
  let inFlight: Promise<boolean> | null = null;
  let timer: ReturnType<typeof setTimeout> | null = null;
  // Without Web Locks: a refresh another tab announced, which this one waits for (5 s at
  // most) instead of sending its own. Two tabs that start together both refresh; the server
  // hands both the same successor inside its grace window, so neither is taken for reuse.
  let othersRefreshing: { done: Promise<boolean>; resolve: (ok: boolean) => void } | null = null;
  const waitForOthers = () => {
    let resolve: (ok: boolean) => void = () => {};
    const done = new Promise<boolean>((r) => {
      resolve = r;
    });
    const wait = { done, resolve };
    othersRefreshing = wait;
    setTimeout(() => {
      if (othersRefreshing === wait) othersRefreshing = null;
      resolve(false);
    }, 5000);
  };

  const schedule = () => {
    if (!hybrid) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => void refresh(), Math.max(1000, lifetime * 0.8));
  };

  channel?.addEventListener("message", (event) => {
    const message = (event as unknown as { data: Message }).data;
    if (message.type === "refreshing") {
      waitForOthers();
    } else if (message.type === "refreshed") {
      lastRefresh = Math.max(lastRefresh, message.at);
      live = true;
      othersRefreshing?.resolve(true);
      othersRefreshing = null;
      schedule();
    } else if (message.type === "signed-out") {
      signedOutHere();
    }
  });

  const signedOutHere = () => {
    live = false;
    csrf = null;
    tokens?.clear();
    if (timer) clearTimeout(timer);
    for (const listener of listeners) listener();
  };
  let announced = 0;
  /** Signed out here and in every tab: a sign-out, or a refresh the server refused. */
  const announceSignOut = () => {
    announced++;
    signedOutHere();
    channel?.postMessage({ type: "signed-out" } satisfies Message);
  };

  const csrfToken = async (): Promise<string> => {
    if (csrf) return csrf;
    const response = await doFetch(`${base}${options.csrfPath ?? "/api/csrf"}`, {
      credentials: "same-origin",
      headers: authorization(),
    });
    csrf = response.ok ? ((await response.json()) as { token: string }).token : "";
    return csrf;
  };

  const authorization = (): Record<string, string> => {
    const access = tokens?.get("access");
    return access ? { authorization: `Bearer ${access}` } : {};
  };

  /** The refresh itself: one request, its tokens kept, every tab told. */
  const refreshNow = async (): Promise<boolean> => {
    const refreshToken = tokens?.get("refresh");
    const response = await doFetch(`${base}${options.refreshPath ?? "/api/hybrid/refresh"}`, {
      method: "POST",
      credentials: "same-origin",
      ...(refreshToken
        ? {
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ refreshToken }),
          }
        : {}),
    });
    // 401: the session is over (revoked, reused, expired) and the server cleared its cookies;
    // a page left showing "signed in" would only fail on every request from now on.
    if (response.status === 401 && live) announceSignOut();
    if (!response.ok) return false;
    if (tokens) {
      const body = (await response.json()) as { accessToken?: string; refreshToken?: string };
      if (body.accessToken) tokens.set("access", body.accessToken);
      if (body.refreshToken) tokens.set("refresh", body.refreshToken);
    }
    lastRefresh = Date.now();
    live = true;
    csrf = null; // bound to the session, which stays; fetched again to be safe
    channel?.postMessage({ type: "refreshed", at: lastRefresh } satisfies Message);
    schedule();
    return true;
  };

  /**
   * One refresh across tabs: under a Web Lock, a tab that waited for another one's refresh
   * finds it done (the cookies are shared) and does not refresh again with a spent token.
   */
  const refresh = (): Promise<boolean> => {
    if (!hybrid) return Promise.resolve(true);
    if (inFlight) return inFlight;
    // Another tab (or this one) refreshed a moment ago: the shared cookies or storage hold
    // fresh tokens already, and a second rotation would only spend them.
    if (Date.now() - lastRefresh < RECENT) return Promise.resolve(true);
    const asked = Date.now();
    const run = async () => {
      if (locks) {
        return locks.request(`${name}-refresh`, async () =>
          lastRefresh >= asked ? true : refreshNow(),
        );
      }
      if (othersRefreshing) return (await othersRefreshing.done) || refreshNow();
      channel?.postMessage({ type: "refreshing" } satisfies Message);
      return refreshNow();
    };
    inFlight = run().finally(() => {
      inFlight = null;
    });
    return inFlight;
  };

  const send = async (url: string, init: RequestInit): Promise<Response> => {
    const headers = new Headers(init.headers);
    for (const [key, value] of Object.entries(authorization())) headers.set(key, value);
    if (UNSAFE.test(init.method ?? "GET")) headers.set("x-csrf-token", await csrfToken());
    return doFetch(url, { credentials: "same-origin", ...init, headers });
  };

  const fetchWithSession = async (path: string, init: RequestInit = {}) => {
    const url = target(path);
    // Another origin gets the request as the application wrote it, and its answers are its
    // own: no token, no CSRF header, no refresh on its 401.
    if (!isTrusted(url)) return doFetch(url, init);
    let response = await send(url, init);
    if (response.status === 403 && csrf !== null) {
      csrf = null; // a stale token (new session): fetch a fresh one once
      response = await send(url, init);
    }
    if (hybrid && response.status === 401) {
      const problem = (await response
        .clone()
        .json()
        .catch(() => ({}))) as { code?: string };
      if (problem.code === "session_expired") {
        live = true; // the server verified a token of a session, only past its lifetime
        if (await refresh()) response = await send(url, init);
      }
    }
    return response;
  };

  return {
    fetch: fetchWithSession,
    refresh,
    signedIn(issued) {
      csrf = null;
      live = true;
      if (issued?.accessToken) tokens?.set("access", issued.accessToken);
      if (issued?.refreshToken) tokens?.set("refresh", issued.refreshToken);
      lastRefresh = Date.now();
      schedule();
    },
    async signOut(path) {
      // Through the refresh-and-retry: a server that wants a live access token for sign-out
      // answers session_expired, and an unended session would come back with the next refresh.
      const before = announced;
      await fetchWithSession(path, { method: "POST" }).catch(() => undefined);
      // Once: a refresh refused on the way has announced it already.
      if (announced === before) announceSignOut();
    },
    onSignOut(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    close() {
      if (timer) clearTimeout(timer);
      channel?.close();
    },
  };
}
