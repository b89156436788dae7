import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { decodeBase64url, encodeBase64url } from "../tokens/base64url.js";

const NONCE_BYTES = 16;
const MAC_BYTES = 32;

/**
 * Signed double-submit token (OWASP "signed double-submit cookie"): a random nonce and an
 * HMAC over the nonce and the session it belongs to. A token minted for one session is worthless
 * for another, and it cannot be forged without the server key. Before sign-in the binding is
 * the empty session, which protects the sign-in form itself (login CSRF).
 */
export function createCsrfToken(key: Buffer, sessionId: string): string {
  const nonce = randomBytes(NONCE_BYTES);
  return `${encodeBase64url(nonce)}.${encodeBase64url(mac(key, sessionId, nonce))}`;
}

export function verifyCsrfToken(key: Buffer, sessionId: string, token: string | null): boolean {
  if (!token || token.length > 128) return false;
  const dot = token.indexOf(".");
  if (dot < 0) return false;
  const nonce = decodeBase64url(token.slice(0, dot));
  const given = decodeBase64url(token.slice(dot + 1));
  if (nonce?.length !== NONCE_BYTES || given?.length !== MAC_BYTES) return false;
  return timingSafeEqual(given, mac(key, sessionId, nonce));
}

function mac(key: Buffer, sessionId: string, nonce: Buffer): Buffer {
  return createHmac("sha256", key)
    .update("sessionkit-csrf\0")
    .update(sessionId)
    .update("\0")
    .update(nonce)
    .digest();
}
