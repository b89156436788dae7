import { randomBytes } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import { createSessionManager, type SessionManager, type SessionStore } from "../../src/index.js";
import { postgresStore } from "../../src/stores/postgres/index.js";
import { redisStore } from "../../src/stores/redis/index.js";
import { generateKeySet } from "../../src/tokens/index.js";
import {
  deleteRedisKeys,
  dropPostgresTables,
  POSTGRES_URL,
  REDIS_URL,
} from "../helpers/backends.js";
import { requestWith } from "../helpers/manager.js";
import { serviceAvailable } from "../helpers/services.js";

// A new instance (a restarted process, or a second manager in a running one) subscribes to a
// shared store whose log replays asynchronously. Until that replay has arrived, it must not
// accept a jwt/hybrid token revoked before it started: not in the tick it was created, not
// in the milliseconds the replay takes (found by the history checker: a restarted server
// accepted such tokens for 100-300 ms).
const keys = generateKeySet("HS256", "k1");
const common = { keys, issuer: "https://app.example", cleanup: false as const };
const STRATEGIES = ["jwt", "hybrid"] as const;
type Strategy = (typeof STRATEGIES)[number];
const bearer = (token: string) => requestWith({ bearer: token });
const redisPrefix = `skreplay${randomBytes(4).toString("hex")}:`;
const pgPrefix = `sk_replay_${randomBytes(4).toString("hex")}_`;
const clusterNodes = process.env.SESSIONKIT_TEST_REDIS_CLUSTER;

const pg = await serviceAvailable("PostgreSQL", 5432);
const redis = await serviceAvailable("Redis", 6379);
const backends: Array<{ name: string; available: boolean; open: () => SessionStore }> = [
  {
    name: "redis",
    available: redis,
    open: () => redisStore({ url: REDIS_URL, prefix: redisPrefix }),
  },
  {
    name: "postgres",
    available: pg,
    open: () => postgresStore({ connectionString: POSTGRES_URL, tablePrefix: pgPrefix }),
  },
  {
    name: "redis cluster",
    available: clusterNodes !== undefined,
    open: () => redisStore({ url: `redis-cluster://${clusterNodes}`, prefix: redisPrefix }),
  },
];

afterAll(async () => {
  if (redis) await deleteRedisKeys(redisPrefix);
  if (pg) await dropPostgresTables(pgPrefix);
});

const managersOn = (store: SessionStore) =>
  Object.fromEntries(
    STRATEGIES.map((strategy) => [
      strategy,
      createSessionManager({ ...common, strategy, store, audience: `app/${strategy}` }),
    ]),
  ) as Record<Strategy, SessionManager>;

describe("a new instance and the revocations made before it started", () => {
  for (const backend of backends) {
    it.skipIf(!backend.available)(
      `${backend.name}: never accepts a revoked jwt or hybrid token while its feed replays`,
      { timeout: 15_000 },
      async () => {
        const a = backend.open();
        const first = managersOn(a);
        const tokens = {} as Record<Strategy, string>;
        for (const strategy of STRATEGIES) {
          const issued = await first[strategy].create({ userId: "u1", transport: "header" });
          tokens[strategy] = issued.token;
          expect((await first[strategy].logout(bearer(issued.token))).revoked).toBe(true);
        }
        for (const m of Object.values(first)) m.close();
        await a.close();

        const b = backend.open();
        const second = managersOn(b);
        // The same tick as the managers' creation: nothing has come back from the store yet.
        const outcomes: Array<[Strategy, string | null]> = [];
        const firstTick = STRATEGIES.map(async (s) => {
          outcomes.push([
            s,
            (await second[s].authenticate(bearer(tokens[s]))).failure?.reason ?? null,
          ]);
        });
        await Promise.all(firstTick);
        // Then as fast as the event loop turns, for 500 ms (the store's I/O runs in between).
        const end = Date.now() + 500;
        while (Date.now() < end) {
          for (const s of STRATEGIES)
            outcomes.push([
              s,
              (await second[s].authenticate(bearer(tokens[s]))).failure?.reason ?? null,
            ]);
          await new Promise((resolve) => setImmediate(resolve));
        }
        const accepted = outcomes.filter(([, failure]) => failure === null);
        expect(accepted.length, `accepted ${accepted.length} of ${outcomes.length}`).toBe(0);
        for (const [s, failure] of outcomes)
          expect(["revocation_stale", "revoked"], s).toContain(failure);
        // The replay did arrive: the refusal now names the revocation.
        for (const s of STRATEGIES)
          expect((await second[s].authenticate(bearer(tokens[s]))).failure?.reason, s).toBe(
            "revoked",
          );
        for (const m of Object.values(second)) m.close();
        await b.close();
      },
    );
  }
});
