import { randomBytes, type ScryptOptions, scrypt, timingSafeEqual } from "node:crypto";

/**
 * scrypt as the OWASP Password Storage Cheat Sheet recommends: N=2^17, r=8, p=1. Tests lower
 * `log2N` explicitly through configuration; the parameters are stored with each hash, so
 * verification never depends on the current setting.
 */
export const OWASP_LOG2N = 17;
const R = 8;
const P = 1;
const KEY_BYTES = 32;
const MAX_PASSWORD_BYTES = 1024;

function derive(password: string, salt: Buffer, n: number, r: number, p: number): Promise<Buffer> {
  const options: ScryptOptions = { N: n, r, p, maxmem: 256 * n * r + 1024 * 1024 };
  return new Promise((resolve, reject) => {
    scrypt(password.normalize("NFKC"), salt, KEY_BYTES, options, (error, key) =>
      error ? reject(error) : resolve(key),
    );
  });
}

export async function hashPassword(password: string, log2N = OWASP_LOG2N): Promise<string> {
  const salt = randomBytes(16);
  const n = 2 ** log2N;
  const key = await derive(password, salt, n, R, P);
  return `scrypt$${log2N}$${R}$${P}$${salt.toString("base64url")}$${key.toString("base64url")}`;
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, log2N, r, p, salt, key] = stored.split("$");
  if (scheme !== "scrypt" || !log2N || !r || !p || !salt || !key) return false;
  const expected = Buffer.from(key, "base64url");
  const actual = await derive(
    password,
    Buffer.from(salt, "base64url"),
    2 ** Number(log2N),
    Number(r),
    Number(p),
  );
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

/**
 * 8 to 1024 bytes of well-formed text: a lone surrogate has no UTF-8 form (it would hash as
 * U+FFFD, so that different passwords would share a hash).
 */
export function passwordAcceptable(password: unknown): password is string {
  return (
    typeof password === "string" &&
    password.length >= 8 &&
    Buffer.byteLength(password, "utf8") <= MAX_PASSWORD_BYTES &&
    !/\p{Cs}/u.test(password)
  );
}

export interface PasswordHashing {
  /** Hashes running at once; each holds 128 MiB at the OWASP cost (128 × N × r bytes). */
  concurrency: number;
  /** Hashes waiting for a turn; past that, callers are turned away at once. */
  queue: number;
}

export const DEFAULT_PASSWORD_HASHING: PasswordHashing = { concurrency: 2, queue: 8 };

/** Hashing and verifying through one gate; `null` means the gate is full (answer 503). */
export interface PasswordHasher {
  hash(password: string): Promise<string | null>;
  verify(password: string, stored: string): Promise<boolean | null>;
}

/**
 * scrypt is slow and memory-hard on purpose, so that a flood of sign-ups or sign-ins would
 * otherwise take all memory and every libuv thread (4 by default) and starve the rest of the
 * server. The gate bounds both: memory to `concurrency` hashes, waiting to `queue` requests.
 */
export function passwordHasher(log2N: number, limits: PasswordHashing): PasswordHasher {
  let running = 0;
  const waiting: Array<() => void> = [];
  const gated = async <T>(task: () => Promise<T>): Promise<T | null> => {
    if (running >= limits.concurrency) {
      if (waiting.length >= limits.queue) return null;
      await new Promise<void>((resolve) => waiting.push(resolve));
    } else {
      running++;
    }
    try {
      return await task();
    } finally {
      // The turn passes straight to the next waiter, so `running` never exceeds the bound.
      const next = waiting.shift();
      if (next) next();
      else running--;
    }
  };
  return {
    hash: (password) => gated(() => hashPassword(password, log2N)),
    verify: (password, stored) => gated(() => verifyPassword(password, stored)),
  };
}
