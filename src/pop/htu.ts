const PERCENT_ENCODED = /%[0-9A-Fa-f]{2}/g;
const UNRESERVED = /^[A-Za-z0-9\-._~]$/;

/**
 * The http(s) target URI without query and fragment (RFC 9449 §4.2 `htu`), normalised as
 * §4.3 asks: syntax-based normalisation (RFC 3986 §6.2.2: scheme and host in lower case,
 * percent-encodings in upper case and decoded where they encode an unreserved character, dot
 * segments removed) and scheme-based (§6.2.3: default port dropped, empty path as "/").
 * Null for anything that is not an absolute http(s) URI without user information. Two URIs
 * match when their normal forms are equal strings. Never throws.
 */
export function normalizeTargetUri(uri: unknown): string | null {
  if (typeof uri !== "string" || alteredByParsing(uri)) return null;
  let url: URL;
  try {
    // The WHATWG parser does the case, port, dot-segment and empty-path steps.
    url = new URL(uri);
  } catch {
    return null;
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return null;
  // RFC 9110 §4.2.4: user information is not part of an http(s) target URI.
  if (url.username !== "" || url.password !== "") return null;
  const path = url.pathname.replace(PERCENT_ENCODED, normalizePercent);
  return `${url.protocol}//${url.host}${path}`;
}

function normalizePercent(encoded: string): string {
  const char = String.fromCharCode(Number.parseInt(encoded.slice(1), 16));
  return UNRESERVED.test(char) ? char : encoded.toUpperCase();
}

/**
 * Whether `text` holds a character that URL parsing would silently drop or rewrite
 * (whitespace, controls, the backslash it reads as a slash) or that no URI holds (non-ASCII):
 * such an `htu` is no spelling of any request's URI, so it is refused instead of repaired.
 */
function alteredByParsing(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code <= 0x20 || code >= 0x7f || code === 0x5c) return true;
  }
  return false;
}
