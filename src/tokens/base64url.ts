const CANONICAL = /^[A-Za-z0-9_-]*$/;

export function encodeBase64url(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64url");
}

/**
 * Decodes canonical base64url only: no padding, no whitespace, and no non-zero trailing bits,
 * so that each byte string has exactly one accepted encoding. Returns `null` otherwise.
 */
export function decodeBase64url(text: string): Buffer | null {
  if (!CANONICAL.test(text) || text.length % 4 === 1) return null;
  const bytes = Buffer.from(text, "base64url");
  return bytes.toString("base64url") === text ? bytes : null;
}
