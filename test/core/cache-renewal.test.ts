import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  createSessionManager,
  type SessionManager,
  type SessionManagerOptions,
  type SessionStore,
} from "../../src/index.js";
import { postgresStore } from "../../src/stores/postgres/index.js";
import { redisStore } from "../../src/stores/redis/index.js";
import { sqliteStore } from "../../src/stores/sqlite/index.js";
import {
  deleteRedisKeys,
  dropPostgresTables,
  POSTGRES_URL,
  REDIS_URL,
} from "../helpers/backends.js";
import { cookiesOf, manualClock, withSid } from "../helpers/manager.js";
import { serviceAvailable } from "../helpers/services.js";
import { tempDir } from "../helpers/tmp.js";

// Two instances (each its own store client and local read cache) on one real store. A renews
// a token; B, whose cache still holds the record from before the renewal, must honour the old
// token only within the grace, like the store does, however its own renewal attempt went.
const dir = tempDir();
const redisPrefix = `skcache${randomBytes(4).toString("hex")}:`;
const pgPrefix = `sk_cache_${randomBytes(4).toString("hex")}_`;

interface Backend {
  name: string;
  up: boolean;
  pair(): [SessionStore, SessionStore];
}

const backends: Backend[] = [
  {
    name: "SQLite file",
    up: true,
    pair: () => {
      const path = join(dir, `${randomBytes(4).toString("hex")}.sqlite`);
      return [sqliteStore({ path, pollIntervalMs: 20 }), sqliteStore({ path, pollIntervalMs: 20 })];
    },
  },
  {
    name: "Redis",
    up: await serviceAvailable("Redis", 6379),
    pair: () => [
      redisStore({ url: REDIS_URL, prefix: redisPrefix }),
      redisStore({ url: REDIS_URL, prefix: redisPrefix }),
    ],
  },
  {
    name: "PostgreSQL",
    up: await serviceAvailable("PostgreSQL", 5432),
    pair: () => [
      postgresStore({ connectionString: POSTGRES_URL, tablePrefix: pgPrefix }),
      postgresStore({ connectionString: POSTGRES_URL, tablePrefix: pgPrefix }),
    ],
  },
];

const opened: SessionStore[] = [];
const managers: SessionManager[] = [];
afterAll(async () => {
  for (const manager of managers) manager.close();
  for (const store of opened) await store.close();
  if (backends[1]?.up) await deleteRedisKeys(redisPrefix);
  if (backends[2]?.up) await dropPostgresTables(pgPrefix);
});

const RENEWAL = 20_000;
const GRACE = 10_000;

/** Instances A and B (cache on) over one store, on one clock; a session made on A, read by B. */
async function twoInstances(backend: Backend) {
  const [storeA, storeB] = backend.pair();
  opened.push(storeA, storeB);
  const clock = manualClock();
  const common: Omit<SessionManagerOptions, "store"> = {
    strategy: "id",
    clock: clock.now,
    cleanup: false,
    cache: { maxAge: "1m" },
    lifetimes: { idle: "30m", absolute: "12h", renewal: RENEWAL, grace: GRACE },
  };
  const a = createSessionManager({ ...common, store: storeA });
  const b = createSessionManager({ ...common, store: storeB });
  managers.push(a, b);
  const { token } = await a.create({ userId: `u-${randomBytes(4).toString("hex")}` });
  // B reads the session once: its cache now holds the record as it was before any renewal.
  expect((await b.authenticate(withSid(token))).session).not.toBeNull();
  clock.advance(RENEWAL);
  const renewed = cookiesOf((await a.authenticate(withSid(token))).headers).get("__Host-sid");
  expect(renewed).toMatch(/\./);
  expect(renewed).not.toBe(token);
  return { a, b, clock, old: token, renewed: renewed ?? "" };
}

for (const backend of backends) {
  describe.skipIf(!backend.up)(
    `${backend.name}: a token renewed by another cached instance`,
    () => {
      it("is served by B within the grace (handing over A's successor) and refused after it", async () => {
        const { b, clock, old, renewed } = await twoInstances(backend);
        clock.advance(GRACE / 2);
        const within = await b.authenticate(withSid(old));
        expect(within.session).not.toBeNull();
        expect(cookiesOf(within.headers).get("__Host-sid")).toBe(renewed);
        clock.advance(GRACE / 2);
        const after = await b.authenticate(withSid(old));
        expect(after.session).toBeNull();
        expect(after.failure?.status).toBe(401);
        expect((await b.authenticate(withSid(renewed))).session).not.toBeNull();
      });

      it("is refused by B when first presented there after the grace, and stays refused", async () => {
        const { b, clock, old, renewed } = await twoInstances(backend);
        // B's cached record (read before the renewal) is younger than the cache's maxAge at the
        // first look; every later look comes within maxAge of the one before it.
        const renewedAt = clock.now();
        const outcomes: Array<string | null> = [];
        for (const after of [15_000, 60_000, 100_000, 140_000]) {
          clock.advance(renewedAt + after - clock.now());
          const result = await b.authenticate(withSid(old));
          outcomes.push(result.session ? "served" : (result.failure?.reason ?? null));
        }
        expect(outcomes).toEqual(["reused", "reused", "reused", "reused"]);
        expect((await b.authenticate(withSid(renewed))).session).not.toBeNull();
      });
    },
  );
}
