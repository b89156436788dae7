import { hkdfSync, randomBytes } from "node:crypto";
import { configError } from "../errors.js";
import { decodeBase64url, encodeBase64url } from "./base64url.js";

/** A private JSON Web Key as kept in a `--keys` file. Symmetric keys only, for now. */
export interface Jwk {
  kty: string;
  kid: string;
  alg: string;
  k?: string;
  d?: string;
  use?: string;
  [member: string]: unknown;
}

export interface JwkSet {
  keys: Jwk[];
}

const HS_MIN_BYTES: Record<string, number> = { HS256: 32, HS384: 48, HS512: 64 };

/**
 * Validates a JWK set and returns it unchanged. Each key needs one `kid` and one `alg`; an
 * `oct` key must be HS* and at least as long as its hash (RFC 7518 §3.2); kids are unique.
 */
export function loadKeySet(input: unknown): JwkSet {
  if (typeof input !== "object" || input === null || !Array.isArray((input as JwkSet).keys)) {
    throw configError("keys must be a JWK set: an object with a `keys` array");
  }
  const keys = (input as JwkSet).keys;
  if (keys.length === 0) throw configError("keys: the JWK set is empty");
  const kids = new Set<string>();
  for (const key of keys) {
    if (typeof key !== "object" || key === null) throw configError("keys: each key is an object");
    if (typeof key.kid !== "string" || key.kid === "")
      throw configError("keys: each key needs a kid");
    if (kids.has(key.kid)) throw configError(`keys: duplicate kid ${JSON.stringify(key.kid)}`);
    kids.add(key.kid);
    if (typeof key.alg !== "string") throw configError(`keys: key ${key.kid} needs an alg`);
    if (key.kty === "oct") {
      const min = HS_MIN_BYTES[key.alg];
      if (min === undefined) throw configError(`keys: oct key ${key.kid} must be HS256/384/512`);
      const secret = typeof key.k === "string" ? decodeBase64url(key.k) : null;
      if (!secret || secret.length < min) {
        throw configError(`keys: key ${key.kid} must hold at least ${min * 8} bits`);
      }
    } else if (typeof key.d !== "string") {
      throw configError(`keys: key ${key.kid} must be a private key`);
    }
  }
  return { keys: keys.map((key) => ({ ...key })) };
}

/** A fresh HS256 key set, as `sessionkit keys generate` prints it. */
export function generateKeySet(kid = `k-${new Date().toISOString().slice(0, 10)}`): JwkSet {
  return {
    keys: [{ kty: "oct", kid, alg: "HS256", use: "sig", k: encodeBase64url(randomBytes(32)) }],
  };
}

/**
 * Derives a purpose-bound 256-bit key from the current (first) key of the set with HKDF, so
 * a CSRF MAC can never be confused with a token signature made with the same key material.
 */
export function deriveKey(set: JwkSet, purpose: string): Buffer {
  const current = set.keys[0];
  const material = current?.k ?? current?.d;
  const ikm = typeof material === "string" ? decodeBase64url(material) : null;
  if (!ikm) throw configError("keys: the current key has no usable key material");
  return Buffer.from(hkdfSync("sha256", ikm, "sessionkit", `sessionkit/${purpose}`, 32));
}
