// Scale: 1,000,000 live sessions in each backend, bulk-loaded in the store's own format.
// Measures lookup latency (store.get, one caller) at 10k and at 1M sessions, the cost of
// listing a user with 1 and with 1,000 sessions, and storage per session; on the same Redis,
// the same for express-session's connect-redis. `node bench/scale.js [--sessions N]` alone,
// or as part of `npm run bench`.
import { randomBytes } from "node:crypto";
import { statSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import Database from "better-sqlite3";
import {
  deleteRedisKeys,
  dropPostgresTables,
  POSTGRES_URL,
  REDIS_URL,
  reachable,
  redisTargets,
} from "./backends.js";
import { tempSqlitePath } from "./servers/common.js";

const HOUR = 3_600_000;
const PER_USER = 4; // sessions of an ordinary user: a few devices
const BATCH = 10_000;

// Browsers' user agents as they are sent today (Chrome's reduced form included), with other
// versions than those in the Redis store's compression dictionary, each cut to 120 bytes,
// the yardstick of the memory target.
export const USER_AGENTS = [
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/129.0.0.0 Safari/537.36 Edg/129.0.2792.79",
  "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36",
  "Mozilla/5.0 (iPhone; CPU iPhone OS 17_6_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1",
  "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/128.0.0.0 Safari/537.36 OPR/114.0.0.0",
].map((ua) => ua.slice(0, 120));

function record(id, userId, now, i) {
  return {
    id,
    userId,
    strategy: "id",
    secretHash: randomBytes(32).toString("base64url"),
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
    userAgent: USER_AGENTS[i % USER_AGENTS.length],
    data: {},
    version: 0,
    binding: null,
  };
}

const quantile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
const ms = (x) => +x.toFixed(3);

/** Latency of `fn(i)` called `count` times one after another: p50 and p99 in ms. */
async function latency(count, fn) {
  const times = [];
  for (let i = 0; i < count; i++) {
    const start = performance.now();
    await fn(i);
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return { p50: ms(quantile(times, 0.5)), p99: ms(quantile(times, 0.99)) };
}

/** Backends: how to open the store, load records in bulk, size them, and clean up. */
async function backends(tag) {
  const { sessionToRow } = await import("../dist/stores/rows.js");
  const list = [];

  // The memory store's heap, where the process can force a collection (node --expose-gc).
  if (typeof globalThis.gc === "function") {
    list.push({
      name: "memory store",
      async open() {
        const { memoryStore } = await import("../dist/stores/memory/index.js");
        globalThis.gc();
        this.before = process.memoryUsage().heapUsed;
        this.store = memoryStore();
      },
      async load(records) {
        // Strings of their own, as parsed from each request (not one shared user agent).
        for (const r of records)
          await this.store.create(
            { ...r, userAgent: Buffer.from(r.userAgent).toString() },
            { now: r.createdAt },
          );
      },
      async bytes() {
        globalThis.gc();
        return { bytes: process.memoryUsage().heapUsed - this.before, of: "V8 heap" };
      },
      async close() {
        await this.store.close?.();
      },
    });
  }

  const path = tempSqlitePath();
  list.push({
    name: "SQLite",
    async open() {
      const { sqliteStore } = await import("../dist/stores/sqlite/index.js");
      this.store = sqliteStore({ path });
      await this.store.get("warm", 0); // schema in place
      this.db = new Database(path);
      const insert = this.db.prepare(
        `INSERT INTO sessionkit_sessions VALUES (@id, @user_id, @strategy, @secret_hash,
         @previous_secret_hash, @previous_valid_until, @successor, @created_at, @last_active_at,
         @renewed_at, @auth_time, @expires_at, @absolute_expires_at, @ip, @user_agent, @data,
         @version)`,
      );
      this.insertMany = this.db.transaction((rows) => {
        for (const row of rows) insert.run(row);
      });
    },
    async load(records) {
      this.insertMany(records.map((r) => sessionToRow(r, JSON.stringify)));
    },
    async bytes() {
      this.db.pragma("wal_checkpoint(TRUNCATE)");
      return { bytes: statSync(path).size, of: "database file" };
    },
    async close() {
      this.db.close();
      await this.store.close();
    },
  });

  if (await reachable(5432)) {
    const prefix = `${tag}_`;
    list.push({
      name: "PostgreSQL",
      async open() {
        const { postgresStore } = await import("../dist/stores/postgres/index.js");
        const { default: pg } = await import("pg");
        this.store = postgresStore({ connectionString: POSTGRES_URL, tablePrefix: prefix });
        await this.store.get("warm", 0);
        this.client = new pg.Client({ connectionString: POSTGRES_URL });
        await this.client.connect();
      },
      async load(records) {
        const rows = records.map((r) => sessionToRow(r, (data) => data));
        await this.client.query(
          `INSERT INTO ${prefix}sessions
           SELECT * FROM json_populate_recordset(null::${prefix}sessions, $1::json)`,
          [JSON.stringify(rows)],
        );
      },
      async settle() {
        // What autovacuum does after a bulk load: statistics for the planner.
        await this.client.query(`VACUUM ANALYZE ${prefix}sessions`);
      },
      async bytes() {
        const { rows } = await this.client.query(
          `SELECT pg_total_relation_size('${prefix}sessions') AS n`,
        );
        return { bytes: Number(rows[0].n), of: "table with its indexes" };
      },
      async close() {
        await this.client.end();
        await this.store.close();
        await dropPostgresTables(prefix);
      },
    });
  }

  for (const target of await redisTargets()) {
    // As short as a deployment's ("sk:" by default): key length is memory too.
    const prefix = `sk${tag.at(-1)}:`;
    list.push({
      name: target.backend === "redis" ? "Redis" : "Redis Cluster (3 masters)",
      async open() {
        const { redisStore } = await import("../dist/stores/redis/index.js");
        const { redisKeys } = await import("../dist/stores/redis/keys.js");
        const { pack } = await import("../dist/stores/redis/record.js");
        this.store = redisStore({ url: target.url, prefix });
        this.keys = redisKeys(prefix);
        this.pack = pack;
        this.clients = await redisNodes(target);
        this.before = await usedMemory(this.clients);
        this.client = await redisClient(target);
      },
      newId(userId) {
        return this.keys.newSessionId(userId);
      },
      async load(records) {
        // What the store's create script writes, without its eviction pass (no cap here).
        const c = this.client;
        await Promise.all(
          records.flatMap((r) => [
            c.set(this.keys.record(r.id), this.pack(r), {
              expiration: { type: "PXAT", value: r.expiresAt },
            }),
            c.zAdd(this.keys.index(r.userId), { score: r.createdAt, value: r.id }),
            c.pExpireAt(this.keys.index(r.userId), r.absoluteExpiresAt),
          ]),
        );
      },
      async bytes() {
        const used = (await usedMemory(this.clients)) - this.before;
        return { bytes: used, of: "used_memory (all nodes)" };
      },
      async close() {
        await this.store.close();
        await this.client.quit();
        for (const c of this.clients) await c.quit();
        await deleteRedisKeys(target, `${prefix}*`);
      },
    });
  }
  return list;
}

async function redisClient(target) {
  const { createClient, createCluster } = await import("redis");
  const client = target.nodes
    ? createCluster({
        rootNodes: target.nodes.split(",").map((node) => ({ url: `redis://${node}` })),
      })
    : createClient({ url: target.url });
  await client.connect();
  return client;
}

/** One client per node, for INFO. */
async function redisNodes(target) {
  const { createClient } = await import("redis");
  const urls = target.nodes
    ? target.nodes.split(",").map((node) => `redis://${node}`)
    : [target.url];
  return Promise.all(urls.map((url) => createClient({ url }).connect()));
}

async function usedMemory(clients) {
  let total = 0;
  for (const c of clients) total += Number(/used_memory:(\d+)/.exec(await c.info("memory"))[1]);
  return total;
}

/** Loads until the backend holds `target` sessions; returns the ids loaded. */
async function fill(backend, ids, target, now) {
  while (ids.length < target) {
    const records = [];
    for (let n = ids.length; n < target && records.length < BATCH; n++) {
      const userId = `user-${Math.floor(n / PER_USER)}`;
      const id = backend.newId?.(userId) ?? randomBytes(16).toString("base64url");
      records.push(record(id, userId, now, n));
      ids.push(id);
    }
    await backend.load(records);
  }
}

async function measureBackend(backend, sessions, samples) {
  await backend.open();
  const { store } = backend;
  const now = Date.now();
  const ids = [];
  const start = performance.now();
  // The two users whose listing is measured, then everyone else.
  const listed = [];
  for (const [userId, count] of [
    ["list-1", 1],
    ["list-1000", 1000],
  ]) {
    const records = [];
    for (let i = 0; i < count; i++) {
      const id = backend.newId?.(userId) ?? randomBytes(16).toString("base64url");
      records.push(record(id, userId, now, i));
      ids.push(id);
    }
    await backend.load(records);
    listed.push(userId);
  }
  const lookup = async (label) => {
    const picks = Array.from(
      { length: samples },
      () => ids[Math.floor(Math.random() * ids.length)],
    );
    const result = await latency(samples, async (i) => {
      if (!(await store.get(picks[i], now))) throw new Error(`${backend.name}: ${label} miss`);
    });
    return result;
  };
  await fill(backend, ids, Math.min(10_000, sessions), now);
  await backend.settle?.();
  await lookup("warm-up");
  const at10k = await lookup("10k");
  await fill(backend, ids, sessions, now);
  const loadSeconds = +((performance.now() - start) / 1000).toFixed(1);
  await backend.settle?.();
  await lookup("warm-up");
  const atFull = await lookup("full");
  const list1 = await latency(200, async () => {
    if ((await store.listUser(listed[0], now)).length !== 1) throw new Error("list-1");
  });
  const list1000 = await latency(20, async () => {
    if ((await store.listUser(listed[1], now)).length !== 1000) throw new Error("list-1000");
  });
  const size = await backend.bytes();
  await backend.close();
  return {
    backend: backend.name,
    sessions,
    loadSeconds,
    lookup10k: at10k,
    lookupFull: atFull,
    list1,
    list1000,
    bytesPerSession: Math.round(size.bytes / sessions),
    measuredAs: size.of,
  };
}

/** express-session's connect-redis on the same Redis: storage per session and lookups. */
async function measureConnectRedis(sessions, samples) {
  const { default: session } = await import("express-session");
  const { RedisStore } = await import("connect-redis");
  const target = { backend: "redis", url: REDIS_URL };
  const [info] = await redisNodes(target);
  const client = await redisClient(target);
  const rows = [];
  // Minimal: what express-session keeps for a signed-in user. Then with the user agent and
  // address an application would add to show devices (still with no per-user index).
  for (const [variant, extra] of [
    ["minimal (cookie + userId)", () => ({})],
    [
      "+ user agent and ip",
      (i) => ({ userAgent: USER_AGENTS[i % 4], ip: `198.51.100.${i % 250}` }),
    ],
  ]) {
    const prefix = `c${randomBytes(3).toString("hex")}:`; // connect-redis default: "sess:"
    const store = new RedisStore({ client, prefix, ttl: 7200 });
    const before = await usedMemory([info]);
    const ids = [];
    const start = performance.now();
    for (let n = 0; n < sessions; n += BATCH) {
      const writes = [];
      for (let i = n; i < Math.min(sessions, n + BATCH); i++) {
        const sid = randomBytes(24).toString("base64url"); // express-session's uid-safe(24)
        const cookie = new session.Cookie({ maxAge: 2 * HOUR, httpOnly: true, secure: true });
        ids.push(sid);
        writes.push(
          store.set(sid, { cookie, userId: `user-${Math.floor(i / PER_USER)}`, ...extra(i) }),
        );
      }
      await Promise.all(writes);
    }
    const loadSeconds = +((performance.now() - start) / 1000).toFixed(1);
    const bytes = (await usedMemory([info])) - before;
    const lookupFull = await latency(samples, async () => {
      const sid = ids[Math.floor(Math.random() * ids.length)];
      if (!(await store.get(sid))) throw new Error("connect-redis miss");
    });
    // connect-redis has no per-user index: listing a user's sessions means reading them all,
    // which at this scale may not work at all; the failure is the finding.
    let listOneUser = null;
    try {
      listOneUser = await latency(1, async () => {
        const found = (await store.all()).filter((s) => s.userId === "user-0");
        if (found.length !== PER_USER) throw new Error(`connect-redis all(): ${found.length}`);
      });
    } catch (error) {
      listOneUser = { error: `${error.name}: ${error.message}` };
    }
    rows.push({
      backend: `connect-redis ${variant}`,
      sessions,
      loadSeconds,
      lookupFull,
      listOneUser,
      bytesPerSession: Math.round(bytes / sessions),
      measuredAs: "used_memory",
    });
    await deleteRedisKeys(target, `${prefix}*`);
  }
  await client.quit();
  await info.quit();
  return rows;
}

export async function runScale({ sessions = 1_000_000, samples = 5000 } = {}) {
  const tag = `s${randomBytes(3).toString("hex")}`;
  const results = [];
  for (const backend of await backends(tag)) {
    console.error(`scale: ${backend.name}, ${sessions} sessions`);
    results.push(await measureBackend(backend, sessions, samples));
  }
  const peers = (await reachable(6379)) ? await measureConnectRedis(sessions, samples) : [];
  return { sessions, perUser: PER_USER, results, peers };
}

export function printScale(scale) {
  console.log(
    `\nScale: ${scale.sessions} live sessions per backend (${scale.perUser} per user), lookups by one caller`,
  );
  console.table(
    Object.fromEntries(
      scale.results.map((r) => [
        r.backend,
        {
          "get p50/p99 ms at 10k": `${r.lookup10k.p50} / ${r.lookup10k.p99}`,
          "get p50/p99 ms at full": `${r.lookupFull.p50} / ${r.lookupFull.p99}`,
          "list 1 session p50 ms": r.list1.p50,
          "list 1000 sessions p50 ms": r.list1000.p50,
          "bytes/session": r.bytesPerSession,
          "load s": r.loadSeconds,
        },
      ]),
    ),
  );
  if (scale.peers.length === 0) return;
  console.log("\nconnect-redis (express-session) on the same Redis, same count");
  console.table(
    Object.fromEntries(
      scale.peers.map((r) => [
        r.backend,
        {
          "get p50/p99 ms at full": `${r.lookupFull.p50} / ${r.lookupFull.p99}`,
          "list one user (all()) ms": r.listOneUser.p50 ?? `fails: ${r.listOneUser.error}`,
          "bytes/session": r.bytesPerSession,
          "load s": r.loadSeconds,
        },
      ]),
    ),
  );
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { sessions: { type: "string", default: "1000000" } } });
  const scale = await runScale({ sessions: Number(values.sessions) });
  printScale(scale);
  process.exit(0);
}
