import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { decodeBase64url, encodeBase64url } from "./base64url.js";

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

export function newSessionId(): string {
  return encodeBase64url(randomBytes(ID_BYTES));
}

/** Creates a token for a new session, or a successor secret for an existing `id`. */
export function generateOpaqueToken(id: string = newSessionId()): OpaqueToken {
  const secret = encodeBase64url(randomBytes(SECRET_BYTES));
  return { token: `${id}.${secret}`, id, secret, secretHash: hashSecret(secret) };
}

export function hashSecret(secret: string): string {
  return createHash("sha256").update(secret, "utf8").digest("base64url");
}

/**
 * Splits a presented token. Anything that is not exactly `id.secret` of the right lengths in
 * canonical base64url yields `null`: a malformed token never reaches the store.
 */
export function parseOpaqueToken(token: string): { id: string; secret: string } | null {
  if (token.length !== ID_LENGTH + 1 + SECRET_LENGTH) return null;
  const id = token.slice(0, ID_LENGTH);
  const secret = token.slice(ID_LENGTH + 1);
  if (token[ID_LENGTH] !== ".") return null;
  const idBytes = decodeBase64url(id);
  const secretBytes = decodeBase64url(secret);
  if (idBytes?.length !== ID_BYTES || secretBytes?.length !== SECRET_BYTES) return null;
  return { id, secret };
}

export function isSessionId(value: string): boolean {
  return value.length === ID_LENGTH && decodeBase64url(value)?.length === ID_BYTES;
}

/** Constant-time comparison of two base64url hashes (equal length by construction). */
export function hashesEqual(a: string, b: string): boolean {
  const left = Buffer.from(a, "utf8");
  const right = Buffer.from(b, "utf8");
  return left.length === right.length && timingSafeEqual(left, right);
}
