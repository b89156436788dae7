// The memory store's heap per session, as bench/scale.js measures it at 1M sessions (target:
// at most 350 bytes there), checked cheaply at 100k: a regression to an object per session
// (about 720 bytes at this count) or to a copy of each user agent (+136) fails it.
import { randomBytes } from "node:crypto";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { expect, it } from "vitest";
import { memoryStore } from "../../src/stores/memory/index.js";
import type { StoredSession } from "../../src/stores/types.js";

const SESSIONS = 100_000;
/** Bytes per session at this count: 330 measured (Node 20), the target itself as the bound. */
const BOUND = 350;
const HOUR = 3_600_000;
// bench/scale.js's: browsers' user agents as sent today, cut to 120 bytes.
const USER_AGENTS = [
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/129.0.0.0 Safari/537.36 Edg/129.0.2792.79",
  "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36",
  "Mozilla/5.0 (iPhone; CPU iPhone OS 17_6_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1",
  "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/128.0.0.0 Safari/537.36 OPR/114.0.0.0",
].map((ua) => ua.slice(0, 120));

/** A full collection, made callable in this process (vitest starts it without --expose-gc). */
function collector(): () => void {
  setFlagsFromString("--expose-gc");
  return runInNewContext("gc") as () => void;
}

/**
 * Heap per session with `SESSIONS` sessions stored (`binding(i)` for the i-th), and per session
 * once they are all gone again (expired and cleaned up).
 */
async function footprint(binding: (i: number) => string | null) {
  const gc = collector();
  const heap = () => {
    gc();
    gc();
    return process.memoryUsage().heapUsed;
  };
  const now = Date.now();
  // The ids and hashes from one buffer each (one call to the CSPRNG), as strings of their own.
  const idBytes = randomBytes(16 * SESSIONS);
  const hashBytes = randomBytes(32 * SESSIONS);
  const before = heap();
  const store = memoryStore();
  for (let i = 0; i < SESSIONS; i++) {
    const record: StoredSession = {
      // As bench/scale.js makes them: 4 sessions a user, a fresh copy of one of 4 user agents.
      id: idBytes.toString("base64url", 16 * i, 16 * i + 16),
      userId: `user-${Math.floor(i / 4)}`,
      strategy: "id",
      secretHash: hashBytes.toString("base64url", 32 * i, 32 * i + 32),
      previousSecretHash: null,
      previousValidUntil: null,
      successor: null,
      createdAt: now - (i % 1000),
      lastActiveAt: now,
      renewedAt: now - (i % 1000),
      authTime: now - (i % 1000),
      expiresAt: now + 2 * HOUR,
      absoluteExpiresAt: now + 24 * HOUR,
      ip: `198.51.100.${i % 250}`,
      userAgent: Buffer.from(USER_AGENTS[i % USER_AGENTS.length] ?? "").toString(),
      data: {},
      version: 0,
      binding: binding(i),
    };
    await store.create(record, { now });
  }
  const stored = (heap() - before) / SESSIONS;
  const listed = await store.listUser("user-0", now);
  // user-0's sessions, oldest first (the i-th was created i ms before now).
  expect(listed.map((r) => r.binding)).toEqual([3, 2, 1, 0].map(binding));
  while ((await store.deleteExpired(now + 24 * HOUR, 10_000)).length > 0) {}
  expect(await store.get(idBytes.toString("base64url", 0, 16), now)).toBeNull();
  return { stored, freed: (heap() - before) / SESSIONS };
}

it(`keeps ${SESSIONS} sessions in under ${BOUND} bytes of heap each, and frees them`, async () => {
  const { stored, freed } = await footprint(() => null);
  expect(stored).toBeLessThan(BOUND);
  // Once they are gone (expired and cleaned up), the store gives the memory back.
  expect(freed).toBeLessThan(10); // 4 measured: 2 spare chunks, maps
});

it("keeps a bound session's binding for its text and a map entry, and frees it", async () => {
  // A binding as the manager writes one: key kind, thumbprint, public JWK (P-256), 200 bytes.
  const keys = randomBytes(96 * SESSIONS);
  const binding = (i: number) =>
    JSON.stringify({
      kind: "dpop",
      jkt: keys.toString("base64url", 96 * i, 96 * i + 32),
      jwk: {
        kty: "EC",
        crv: "P-256",
        x: keys.toString("base64url", 96 * i + 32, 96 * i + 64),
        y: keys.toString("base64url", 96 * i + 64, 96 * i + 96),
      },
    });
  const size = binding(0).length;
  const { stored, freed } = await footprint(binding);
  // The text (one byte a character, plus its header) and the map entry, nothing per slot: 585
  // measured for 200 characters (Node 20); 680 while the text was kept as JSON.stringify built it.
  expect(stored).toBeLessThan(BOUND + size + 64);
  // A binding left behind by a removed record would show here as its whole size.
  expect(freed).toBeLessThan(10);
});
