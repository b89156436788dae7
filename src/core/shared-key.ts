import { randomBytes } from "node:crypto";
import { deriveKey, type JwkSet } from "../tokens/keys.js";

/**
 * The key of a MAC that every instance sharing the key set must accept (CSRF tokens, DPoP
 * nonces, DBSC challenges), one per purpose. Without keys, each process has its own: Origin
 * checks still protect every instance, but such a token verifies only where it was minted.
 */
export function sharedKey(keys: JwkSet | null, purpose: string): Buffer {
  return keys ? deriveKey(keys, purpose) : randomBytes(32);
}
