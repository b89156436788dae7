/**
 * Where the client keeps tokens for header transport (API clients, the storage lab). Cookie
 * transport needs none of this: the browser keeps `HttpOnly` cookies where no script reaches.
 *
 * What an injected script (XSS) can do with each:
 * - `memoryTokens`: read them while it runs in the page (it can call the same code), but they
 *   die with the tab; nothing is left on disk.
 * - `sessionStorageTokens`: read them from `sessionStorage` of this tab, and they survive
 *   reloads of the tab.
 * - `localStorageTokens`: read them from `localStorage` of every tab of the origin, and they
 *   survive closing the browser: a script that runs once can take them away for good.
 */
export interface TokenStorage {
  get(kind: "access" | "refresh"): string | null;
  set(kind: "access" | "refresh", value: string): void;
  clear(): void;
}

interface WebStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

/**
 * Tokens in this page's memory (the default): gone with the tab, nothing left on disk.
 *
 * @example
 * ```ts
 * import { createSessionClient, memoryTokens } from "sessionkit/client";
 *
 * const client = createSessionClient({ strategy: "hybrid", tokens: memoryTokens() });
 * const answer = await client.fetch("/api/hybrid/login", {
 *   method: "POST",
 *   headers: { "content-type": "application/json" },
 *   body: JSON.stringify({ username: "alice", password: "wonderland", transport: "header" }),
 * });
 * const { accessToken, refreshToken } = (await answer.json()) as {
 *   accessToken: string;
 *   refreshToken: string;
 * };
 * client.signedIn({ accessToken, refreshToken }); // Authorization: Bearer from now on
 * ```
 */
export function memoryTokens(): TokenStorage {
  const values = new Map<string, string>();
  return {
    get: (kind) => values.get(kind) ?? null,
    set: (kind, value) => {
      values.set(kind, value);
    },
    clear: () => values.clear(),
  };
}

function webStorageTokens(which: "localStorage" | "sessionStorage", prefix: string): TokenStorage {
  const storage = () => (globalThis as unknown as Record<string, WebStorage | undefined>)[which];
  return {
    get: (kind) => storage()?.getItem(`${prefix}${kind}`) ?? null,
    set: (kind, value) => storage()?.setItem(`${prefix}${kind}`, value),
    clear: () => {
      storage()?.removeItem(`${prefix}access`);
      storage()?.removeItem(`${prefix}refresh`);
    },
  };
}

/**
 * Tokens in `sessionStorage` under `prefix`: this tab only, kept across its reloads.
 *
 * @example
 * ```ts
 * import { createSessionClient, sessionStorageTokens } from "sessionkit/client";
 *
 * const client = createSessionClient({ strategy: "jwt", tokens: sessionStorageTokens("myapp.") });
 * ```
 */
export const sessionStorageTokens = (prefix = "sessionkit.") =>
  webStorageTokens("sessionStorage", prefix);

/**
 * Tokens in `localStorage` under `prefix`: every tab of the origin, kept after the browser
 * closes (and readable by any script that runs there once).
 *
 * @example
 * ```ts
 * import { createSessionClient, localStorageTokens } from "sessionkit/client";
 *
 * const client = createSessionClient({ strategy: "hybrid", tokens: localStorageTokens() });
 * ```
 */
export const localStorageTokens = (prefix = "sessionkit.") =>
  webStorageTokens("localStorage", prefix);
