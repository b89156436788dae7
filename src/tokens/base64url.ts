const ALPHABET = /^[A-Za-z0-9_-]*$/;
// The last character of an unpadded encoding carries 2 (length % 4 == 2) or 4 (== 3) unused
// low bits; canonical encodings leave them zero, so only these characters may end one.
const LAST_OF_2 = "AQgw";
const LAST_OF_3 = "AEIMQUYcgkosw048";

export function encodeBase64url(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64url");
}

/** Whether `text` is the one canonical unpadded base64url spelling of some bytes. */
export function isCanonicalBase64url(text: string): boolean {
  const rest = text.length % 4;
  if (rest === 1 || !ALPHABET.test(text)) return false;
  if (rest === 0) return true;
  return (rest === 2 ? LAST_OF_2 : LAST_OF_3).includes(text[text.length - 1] ?? "");
}

/**
 * Decodes canonical base64url only: no padding, no whitespace, and no non-zero trailing bits,
 * so that each byte string has exactly one accepted encoding. Returns `null` otherwise.
 */
export function decodeBase64url(text: string): Buffer | null {
  return isCanonicalBase64url(text) ? Buffer.from(text, "base64url") : null;
}
