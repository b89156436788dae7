/**
 * `sessionkit/client`: the browser side. A `fetch` wrapper that adds the CSRF header, and for
 * `hybrid` refreshes the access token before it expires and on `401 session_expired`, with one
 * refresh in flight across every tab of the origin (Web Locks, or BroadcastChannel where
 * there are none), so that tabs never present a spent refresh token against each other.
 * Signing out, and a session the server refuses to refresh, is announced to every tab. With
 * `dpop`, every request proves a key the page holds and cannot export (RFC 9449), so that a
 * token copied out of the page is refused elsewhere. No framework, no dependencies; it runs
 * as it is.
 */
export {
  type DpopKeyPair,
  type DpopKeyStorage,
  indexedDbDpopKeys,
  memoryDpopKeys,
  type WebCryptoKey,
} from "./dpop-keys.js";
export {
  localStorageTokens,
  memoryTokens,
  sessionStorageTokens,
  type TokenStorage,
} from "./storage.js";

import { createDpopProver } from "./dpop.js";
import { type DpopKeyStorage, indexedDbDpopKeys } from "./dpop-keys.js";
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
  /**
   * DPoP (RFC 9449), for header transport (`tokens`) against a server with `dpop` on: every
   * request to a trusted origin carries a proof signed by a non-extractable ECDSA P-256 key,
   * the sign-in included (which binds the session to the key), and the token goes as
   * `Authorization: DPoP`. `true` keeps the key in IndexedDB (database `<channel>-dpop`),
   * shared by the tabs and kept across reloads until `signOut`; `{ keys }` keeps it elsewhere
   * (`memoryDpopKeys()` outside a browser). Creating the client throws where WebCrypto (HTTPS
   * or localhost only) or IndexedDB is missing: it never falls back to Bearer. Another origin
   * listed in `origins` must expose `DPoP-Nonce` and `WWW-Authenticate` to CORS for nonces.
   */
  dpop?: boolean | { keys?: DpopKeyStorage };
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
  /**
   * With `dpop`: the `DPoP` header for a request this client does not send itself (`url`
   * relative to the page, or whole); with `accessToken`, the proof covers it (`ath`).
   * Rejects when `dpop` is off.
   */
  dpopProof(method: string, url: string, accessToken?: string): Promise<string>;
  /** Call after signing in: starts the refresh schedule and forgets any old CSRF token. */
  signedIn(tokens?: { accessToken?: string; refreshToken?: string }): void;
  /**
   * Posts the sign-out (for hybrid, refreshing and retrying once when the server answers
   * `session_expired`), forgets the tokens (and the DPoP key), and tells every tab.
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

/**
 * The browser helper: one per page (or per process outside a browser; then `close()` it).
 *
 * @example
 * ```ts
 * import { createSessionClient } from "sessionkit/client";
 *
 * const client = createSessionClient({ strategy: "hybrid" });
 * client.onSignOut(() => console.log("signed out, in this tab or another"));
 * const me = await client.fetch("/api/hybrid/me"); // refreshed and retried once if it expired
 * await client.fetch("/api/cart/clear", { method: "POST" }); // with the x-csrf-token header
 * await client.signOut("/api/hybrid/logout");
 * ```
 */
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
  if (options.dpop && !tokens) {
    throw new TypeError("sessionkit/client: dpop binds header-transport tokens: pass `tokens`");
  }
  const dpop = options.dpop
    ? createDpopProver(
        (typeof options.dpop === "object" ? options.dpop.keys : undefined) ??
          indexedDbDpopKeys(`${name}-dpop`),
      )
    : null;
  const absolute = (url: string) => new URL(url, page).href;
  /** A request to a trusted origin: with a proof (and the nonce retry) when DPoP is on. */
  const sendTrusted = (url: string, init: RequestInit, accessToken: string | null) =>
    dpop ? dpop.fetch(doFetch, absolute(url), init, accessToken) : doFetch(url, init);
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
    dpop?.reload(); // the tab that signed out deletes the stored key
    if (timer) clearTimeout(timer);
    for (const listener of listeners) listener();
  };
  let announced = 0;
  /** Signed out here and in every tab: a sign-out, or a refresh the server refused. */
  const announceSignOut = async () => {
    announced++;
    signedOutHere();
    // Deleted before the other tabs hear of it: one that signs a request meanwhile would
    // otherwise keep using, or store again, the key of the ended session.
    await dpop?.forget().catch(() => undefined);
    channel?.postMessage({ type: "signed-out" } satisfies Message);
  };

  const csrfToken = async (): Promise<string> => {
    if (csrf) return csrf;
    const access = tokens?.get("access") ?? null;
    const response = await sendTrusted(
      `${base}${options.csrfPath ?? "/api/csrf"}`,
      { credentials: "same-origin", headers: authorization(access) },
      access,
    );
    csrf = response.ok ? ((await response.json()) as { token: string }).token : "";
    return csrf;
  };

  const authorization = (access: string | null): Record<string, string> => {
    return access ? { authorization: `${dpop ? "DPoP" : "Bearer"} ${access}` } : {};
  };

  /** The refresh itself: one request, its tokens kept, every tab told. */
  const refreshNow = async (): Promise<boolean> => {
    const refreshToken = tokens?.get("refresh");
    // With DPoP, a proof without `ath`: the refresh token travels in the body (RFC 9449 §5).
    const response = await sendTrusted(
      `${base}${options.refreshPath ?? "/api/hybrid/refresh"}`,
      {
        method: "POST",
        credentials: "same-origin",
        ...(refreshToken
          ? {
              headers: { "content-type": "application/json" },
              body: JSON.stringify({ refreshToken }),
            }
          : {}),
      },
      null,
    );
    // 401: the session is over (revoked, reused, expired) and the server cleared its cookies;
    // a page left showing "signed in" would only fail on every request from now on.
    if (response.status === 401 && live) await announceSignOut();
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
    if (UNSAFE.test(init.method ?? "GET")) headers.set("x-csrf-token", await csrfToken());
    // Read once, after the wait for a CSRF token: the proof's `ath` must cover the very token
    // sent, even when another tab has just refreshed it.
    const access = tokens?.get("access") ?? null;
    for (const [key, value] of Object.entries(authorization(access))) headers.set(key, value);
    const request = { credentials: "same-origin" as const, ...init, headers };
    return sendTrusted(url, request, access);
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
    async dpopProof(method, url, accessToken) {
      if (!dpop) throw new TypeError("sessionkit/client: dpopProof needs the dpop option");
      return dpop.proof(method, absolute(target(url)), accessToken);
    },
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
      if (announced === before) await announceSignOut();
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
