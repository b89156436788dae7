/** Methods that must not change state; CSRF checks apply to every other method. */
const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS", "TRACE"]);

export function isSafeMethod(method: string | undefined): boolean {
  // Servers hand methods over upper-cased: the common answer needs no new string.
  if (method === undefined || method === "GET" || method === "HEAD") return true;
  return SAFE_METHODS.has(method.toUpperCase());
}

export interface HeaderSource {
  get(name: string): string | null;
}

/**
 * Normalises configured origins once (`scheme://host[:port]`, no path); throws on a value
 * that is not an origin, so a typo cannot silently allow nothing or everything.
 */
export function normalizeOrigin(value: string): string | null {
  try {
    const url = new URL(value);
    if (url.protocol !== "http:" && url.protocol !== "https:") return null;
    if (url.username || url.password || url.search || url.hash) return null;
    if (url.pathname !== "/" && url.pathname !== "") return null;
    return url.origin;
  } catch {
    return null;
  }
}

/**
 * Fetch Metadata and Origin checks (OWASP CSRF cheat sheet). A request passes when the
 * browser says it is same-origin, or when its `Origin` is exactly one of the allowed ones.
 * Everything else (cross-site, `Origin: null`, no headers at all) must carry a valid token.
 */
export function originAllowed(headers: HeaderSource, allowed: ReadonlySet<string>): boolean {
  const site = headers.get("sec-fetch-site");
  if (site === "same-origin") return true;
  const origin = headers.get("origin");
  return origin !== null && allowed.has(origin);
}
