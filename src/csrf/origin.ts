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
 * browser says it is same-origin, when its `Origin` is exactly one of the allowed ones, or when
 * its `Origin` names the host the request was sent to (the target origin: a browser that sends
 * no Fetch Metadata, on plain HTTP or an older version, or a test client). A page elsewhere
 * cannot make a browser send the victim's cookies with a `Host` of its choosing. Everything
 * else (cross-site, `Origin: null`, no headers at all) must carry a valid token.
 */
export function originAllowed(headers: HeaderSource, allowed: ReadonlySet<string>): boolean {
  const site = headers.get("sec-fetch-site");
  if (site === "same-origin") return true;
  const origin = headers.get("origin");
  if (origin === null) return false;
  if (allowed.has(origin)) return true;
  // Fetch Metadata says otherwise: believe it (a same-site sibling is not this origin).
  if (site !== null) return false;
  const host = headers.get("host");
  return host !== null && targetHost(origin) === host.toLowerCase();
}

/** The `host[:port]` of an `Origin` value, as a `Host` header writes it, or `null`. */
function targetHost(origin: string): string | null {
  const normal = normalizeOrigin(origin);
  if (normal === null) return null;
  return new URL(normal).host;
}
