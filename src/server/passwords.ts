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

/**
 * Hashing and verifying through one gate; `null` means the gate is full, or the clients named
 * already hold their share of it (answer 503).
 */
export interface PasswordHasher {
  /** `clients`: who the hash is for (a client address, an account), each held to its share. */
  hash(password: string, clients?: readonly string[]): Promise<string | null>;
  verify(password: string, stored: string, clients?: readonly string[]): Promise<boolean | null>;
}

/** Hashes one client may have in the gate: one running and one waiting. */
const CLIENT_SHARE = 2;

/**
 * scrypt is slow and memory-hard on purpose, so that a flood of sign-ups or sign-ins would
 * otherwise take all memory and every libuv thread (4 by default) and starve the rest of the
 * server. The gate bounds both: memory to `concurrency` hashes, waiting to `queue` requests.
 * It is also fair: a client never runs two hashes at once nor holds more than its share, so
 * that one client looping on requests (even successful ones) cannot keep the queue full and
 * everyone else out; past its share it is turned away without taking a place in the queue.
 */
export function passwordHasher(log2N: number, limits: PasswordHashing): PasswordHasher {
  let running = 0;
  const waiting: Array<{ clients: readonly string[]; start: () => void }> = [];
  const held = new Map<string, number>();
  const active = new Set<string>();
  const idle = (clients: readonly string[]) => !clients.some((client) => active.has(client));
  const start = (clients: readonly string[]) => {
    running++;
    for (const client of clients) active.add(client);
  };
  // The turn passes straight to the first waiter whose clients run nothing, so `running`
  // never exceeds the bound and a client's second request cannot overtake someone else.
  const dispatch = () => {
    for (let i = 0; i < waiting.length && running < limits.concurrency; ) {
      const next = waiting[i] as (typeof waiting)[number];
      if (!idle(next.clients)) {
        i++;
        continue;
      }
      waiting.splice(i, 1);
      start(next.clients);
      next.start();
    }
  };
  const gated = async <T>(named: readonly string[], task: () => Promise<T>): Promise<T | null> => {
    const clients = [...new Set(named)];
    if (clients.some((client) => (held.get(client) ?? 0) >= CLIENT_SHARE)) return null;
    const now = running < limits.concurrency && idle(clients);
    if (!now && waiting.length >= limits.queue) return null;
    for (const client of clients) held.set(client, (held.get(client) ?? 0) + 1);
    if (now) start(clients);
    else await new Promise<void>((resolve) => waiting.push({ clients, start: resolve }));
    try {
      return await task();
    } finally {
      running--;
      for (const client of clients) {
        active.delete(client);
        const left = (held.get(client) ?? 1) - 1;
        if (left > 0) held.set(client, left);
        else held.delete(client);
      }
      dispatch();
    }
  };
  return {
    hash: (password, clients = []) => gated(clients, () => hashPassword(password, log2N)),
    verify: (password, stored, clients = []) =>
      gated(clients, () => verifyPassword(password, stored)),
  };
}
