import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { configError } from "../errors.js";

/** Server nonces (`DPoP-Nonce`) and challenges (DBSC) that need no server state. */
export interface Nonces {
  /** A fresh nonce: unpredictable, base64url (so within RFC 9449 §8.1's NQCHAR). */
  issue(): string;
  /** Whether `nonce` was issued with this key and has not expired. Never throws. */
  check(nonce: unknown): boolean;
  /**
   * When `nonce` expires (epoch ms), or null when `check` would refuse it: what a one-time
   * use needs (`replay.firstUse(nonce, expiresAt, now)` remembers it exactly that long).
   */
  expiresAt(nonce: unknown): number | null;
  readonly lifetimeMs: number;
}

export interface NonceOptions {
  /** HMAC key, at least 32 bytes. Give DPoP nonces and DBSC challenges different `purpose`s. */
  key: Buffer;
  lifetimeMs: number;
  clock?: () => number;
  /**
   * Binds nonces to one use: a nonce issued for one purpose never checks for another, even
   * under the same key. Default "nonce".
   */
  purpose?: string;
}

// Layout: 6-byte issue time (ms, big-endian; good until year 10889) ‖ 16 random bytes ‖
// HMAC-SHA256 over purpose and the first two. Base64url of 54 bytes: 72 characters.
const TIME_BYTES = 6;
const RANDOM_BYTES = 16;
const MAC_BYTES = 32;
const BODY_BYTES = TIME_BYTES + RANDOM_BYTES;
const NONCE_LENGTH = Math.ceil(((BODY_BYTES + MAC_BYTES) * 4) / 3);
const CANONICAL = /^[A-Za-z0-9_-]+$/;
// Instances behind one endpoint share the key but not a clock: a nonce stamped a little ahead
// of this instance's clock is one a peer just issued, not a forgery (the MAC settles that).
const FUTURE_SKEW_MS = 5_000;
const MAX_TIME = 2 ** (8 * TIME_BYTES) - 1;

/**
 * Stateless nonces: each carries its issue time and random bytes under an HMAC, so any
 * instance with the key can check one without storage, and an expired or altered one is
 * refused. They are not one-time by themselves (RFC 9449 §11.1: a DPoP nonce may be reused
 * within its life, the proof's `jti` is what is single-use); DBSC challenges add one-time use
 * through a `ReplayCache`. Bad options throw here, at construction.
 */
export function createNonces(options: NonceOptions): Nonces {
  const { key, lifetimeMs } = options;
  if (!Buffer.isBuffer(key) || key.length < 32) {
    throw configError("nonces: key must be a Buffer of at least 32 bytes");
  }
  if (!Number.isSafeInteger(lifetimeMs) || lifetimeMs < 1) {
    throw configError(`nonces: lifetimeMs must be a positive integer, not ${lifetimeMs}`);
  }
  const clock = options.clock ?? Date.now;
  const purpose = Buffer.from(`sessionkit/pop-nonce/${options.purpose ?? "nonce"}\0`, "utf8");
  const secret = Buffer.from(key); // a copy: later changes to the caller's buffer do not count

  const mac = (body: Buffer) => createHmac("sha256", secret).update(purpose).update(body).digest();

  function expiresAt(nonce: unknown): number | null {
    if (typeof nonce !== "string" || nonce.length !== NONCE_LENGTH || !CANONICAL.test(nonce)) {
      return null;
    }
    const bytes = Buffer.from(nonce, "base64url");
    if (bytes.length !== BODY_BYTES + MAC_BYTES) return null;
    const body = bytes.subarray(0, BODY_BYTES);
    if (!timingSafeEqual(mac(body), bytes.subarray(BODY_BYTES))) return null;
    const issuedAt = body.readUIntBE(0, TIME_BYTES);
    const now = clock();
    // Written as the conditions to accept, so that a clock answering NaN refuses.
    const fresh = issuedAt <= now + FUTURE_SKEW_MS && now <= issuedAt + lifetimeMs;
    return fresh ? issuedAt + lifetimeMs : null;
  }

  return {
    lifetimeMs,
    issue() {
      const body = Buffer.alloc(BODY_BYTES);
      const now = Math.floor(clock());
      // A clock that answers nonsense stamps 0: such a nonce is born expired, never eternal.
      body.writeUIntBE(now >= 0 && now <= MAX_TIME ? now : 0, 0, TIME_BYTES);
      randomBytes(RANDOM_BYTES).copy(body, TIME_BYTES);
      return Buffer.concat([body, mac(body)]).toString("base64url");
    },
    check: (nonce) => expiresAt(nonce) !== null,
    expiresAt,
  };
}
