import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from "node:crypto";
import { decodeBase64url, encodeBase64url } from "../tokens/base64url.js";

/**
 * Seals a successor secret under a key derived from the secret it replaces. The store keeps
 * the sealed value; only a client presenting the replaced token can open it, so a caller that
 * lost a rotation race receives the same successor instead of a new branch, and the store
 * still holds nothing that works as a token on its own.
 */
export function sealSuccessor(
  previousSecret: string,
  sessionId: string,
  successor: string,
): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", keyFor(previousSecret, sessionId), iv);
  const body = Buffer.concat([cipher.update(successor, "utf8"), cipher.final()]);
  return encodeBase64url(Buffer.concat([iv, body, cipher.getAuthTag()]));
}

export function openSuccessor(
  previousSecret: string,
  sessionId: string,
  sealed: string,
): string | null {
  const bytes = decodeBase64url(sealed);
  if (!bytes || bytes.length < 12 + 16 + 1) return null;
  try {
    const decipher = createDecipheriv(
      "aes-256-gcm",
      keyFor(previousSecret, sessionId),
      bytes.subarray(0, 12),
    );
    decipher.setAuthTag(bytes.subarray(bytes.length - 16));
    return Buffer.concat([
      decipher.update(bytes.subarray(12, bytes.length - 16)),
      decipher.final(),
    ]).toString("utf8");
  } catch {
    return null;
  }
}

function keyFor(secret: string, sessionId: string): Buffer {
  return Buffer.from(hkdfSync("sha256", secret, sessionId, "sessionkit/successor", 32));
}
