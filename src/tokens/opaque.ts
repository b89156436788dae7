import * as crypto from "node:crypto";
import { encodeBase64url } from "./base64url.js";

/** 16 random bytes name the session; they are public (lists, `DELETE /sessions/{id}`). */
export const ID_BYTES = 16;
/** 32 random bytes are the secret; only their SHA-256 is ever stored. */
export const SECRET_BYTES = 32;

const ID_LENGTH = 22; // base64url of 16 bytes
const SECRET_LENGTH = 43; // base64url of 32 bytes

export interface OpaqueToken {
  /** `id + "." + secret`: what the client holds. */
  token: string;
  id: string;
  secret: string;
  /** base64url SHA-256 of the secret: what the store holds. */
  secretHash: string;
}

// Canonical base64url of exactly 16 and 32 bytes: the last character may carry only the
// bits that exist (2 of 6 for 16 bytes, 4 of 6 for 32), so each value has one spelling.
const ID_PATTERN = /^[A-Za-z0-9_-]{21}[AQgw]$/;
/** Both at once, with the dot between them: one pass over a presented token. */
const TOKEN_PATTERN = /^[A-Za-z0-9_-]{21}[AQgw]\.[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$/;

// `crypto.hash` (Node 20.12+) is a one-shot digest without a Hash object per call.
const sha256: (data: string) => string =
  typeof crypto.hash === "function"
    ? (data) => crypto.hash("sha256", data, "base64url")
    : (data) => crypto.createHash("sha256").update(data, "utf8").digest("base64url");

export function newSessionId(): string {
  return encodeBase64url(crypto.randomBytes(ID_BYTES));
}

/** Creates a token for a new session, or a successor secret for an existing `id`. */
export function generateOpaqueToken(existingId?: string): OpaqueToken {
  // One call to the CSPRNG for both parts when both are new.
  const bytes = crypto.randomBytes(
    existingId === undefined ? ID_BYTES + SECRET_BYTES : SECRET_BYTES,
  );
  const id = existingId ?? encodeBase64url(bytes.subarray(0, ID_BYTES));
  const secret = encodeBase64url(bytes.subarray(bytes.length - SECRET_BYTES));
  return { token: `${id}.${secret}`, id, secret, secretHash: hashSecret(secret) };
}

export function hashSecret(secret: string): string {
  return sha256(secret);
}

/**
 * Splits a presented token. Anything that is not exactly `id.secret` of the right lengths in
 * canonical base64url yields `null`: a malformed token never reaches the store.
 */
export function parseOpaqueToken(token: string): { id: string; secret: string } | null {
  if (token.length !== ID_LENGTH + 1 + SECRET_LENGTH || !TOKEN_PATTERN.test(token)) return null;
  return { id: token.slice(0, ID_LENGTH), secret: token.slice(ID_LENGTH + 1) };
}

export function isSessionId(value: string): boolean {
  return ID_PATTERN.test(value);
}

/**
 * Compares two SHA-256 digests in base64url in time that depends only on their length: no early
 * exit on the first difference, and no allocation on this hot path.
 */
export function hashesEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}
