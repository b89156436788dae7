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

export const sessionStorageTokens = (prefix = "sessionkit.") =>
  webStorageTokens("sessionStorage", prefix);

export const localStorageTokens = (prefix = "sessionkit.") =>
  webStorageTokens("localStorage", prefix);
