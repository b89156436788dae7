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
 * its `Origin` is the origin the request was sent to (scheme, host and port of its URL), for a
 * browser that sends no Fetch Metadata (plain-HTTP hosts, older versions) and test clients.
 * A page elsewhere cannot make a browser send the victim's cookies to a URL of its choosing.
 * Everything else (cross-site, `Origin: null`, no headers at all) must carry a valid token.
 */
export function originAllowed(
  request: { headers: HeaderSource; url?: string },
  allowed: ReadonlySet<string>,
): boolean {
  const { headers } = request;
  const site = headers.get("sec-fetch-site");
  if (site === "same-origin") return true;
  const origin = headers.get("origin");
  if (origin === null) return false;
  if (allowed.has(origin)) return true;
  // Fetch Metadata says otherwise: believe it (a same-site sibling is not this origin).
  if (site !== null || request.url === undefined) return false;
  const target = targetOrigin(request.url);
  if (target === null || origin !== target) return false;
  // Behind a TLS proxy the URL says http: where the allowed origins name this host (or are all
  // https), they decide the scheme, so that an http: page on the same host (a network attacker
  // on a site without HSTS) is not taken for the site itself.
  const host = new URL(target).host;
  for (const one of allowed) {
    if (new URL(one).host === host || (target.startsWith("http:") && one.startsWith("https:"))) {
      return false;
    }
  }
  return true;
}

/** The origin of the URL a request was sent to, as an `Origin` header writes it, or `null`. */
function targetOrigin(url: string): string | null {
  try {
    const { protocol, origin } = new URL(url);
    return protocol === "http:" || protocol === "https:" ? origin : null;
  } catch {
    return null;
  }
}
