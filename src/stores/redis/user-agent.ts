import { deflateRawSync, inflateRawSync } from "node:zlib";
import { decodeBase64url, encodeBase64url } from "../../tokens/base64url.js";

/**
 * User agents in Redis records are compressed with a preset dictionary of the tokens that
 * browsers' user agents are made of: a 120-byte Chrome user agent becomes about 20 bytes of
 * base64url, which is most of what keeps a session under 400 bytes of Redis memory.
 * The dictionary is part of the record format: changing it makes stored user agents unreadable.
 */
const DICTIONARY = Buffer.from(
  [
    // Rarer tokens first, the most common user agents last: deflate codes near matches shorter.
    "Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X) CriOS/131.0.0.0 FxiOS/133.0 Edg/131.0.0.0",
    "OPR/115.0.0.0 SamsungBrowser/27.0 Chrome/131.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
  ].join(" "),
);

/** A stored user agent that starts with this mark is compressed; any other is verbatim. */
const MARK = "~";

// User agents repeat (one per device, read on every uncached lookup): remember recent ones.
const LIMIT = 2000;
const decoded = new Map<string, string>();
const encoded = new Map<string, string>();

function remember(map: Map<string, string>, key: string, value: string): string {
  if (map.size >= LIMIT) map.clear();
  map.set(key, value);
  return value;
}

export function encodeUserAgent(ua: string): string {
  const known = encoded.get(ua);
  if (known !== undefined) return known;
  const packed = MARK + encodeBase64url(deflateRawSync(ua, { dictionary: DICTIONARY }));
  // Verbatim when compression does not pay, unless the text itself starts with the mark.
  const stored = packed.length < ua.length || ua.startsWith(MARK) ? packed : ua;
  return remember(encoded, ua, stored);
}

export function decodeUserAgent(stored: string): string {
  if (!stored.startsWith(MARK)) return stored;
  const known = decoded.get(stored);
  if (known !== undefined) return known;
  const bytes = decodeBase64url(stored.slice(MARK.length));
  if (!bytes) return "";
  let ua = "";
  try {
    ua = inflateRawSync(bytes, { dictionary: DICTIONARY }).toString("utf8");
  } catch {
    ua = ""; // a corrupted record loses its user agent, not the session
  }
  return remember(decoded, stored, ua);
}
