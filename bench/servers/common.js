// Shared by the benchmark servers: each one listens on a free 127.0.0.1 port and then prints
// one JSON line {port, cookie?} for the runner. They stop when the runner closes stdin.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { deleteRedisKeys, REDIS_URL } from "../backends.js";

export const BODY = JSON.stringify({ user: { id: "u1", username: "bench" } });

const cleanups = [];

/** Runs before the process exits at the runner's request (keys left in a shared Redis). */
export function onStop(cleanup) {
  cleanups.push(cleanup);
}

export function announce(server, extra = {}) {
  server.listen(0, "127.0.0.1", () => {
    process.stdout.write(`${JSON.stringify({ port: server.address().port, ...extra })}\n`);
  });
  process.stdin.resume();
  process.stdin.on("end", async () => {
    for (const cleanup of cleanups) await cleanup().catch(() => {});
    process.exit(0);
  });
}

/** `announce` for a Fastify app: its own server, listening on a free 127.0.0.1 port. */
export async function announceFastify(app, extra = {}) {
  await app.ready();
  announce(app.server, extra);
}

/** A Fastify session plugin's app, the way its README uses it: sign in, then GET /me. */
export async function announceFastifyPeer(app) {
  app.post("/login", async (request) => {
    request.session.set("userId", "u1");
    return "ok";
  });
  app.get("/me", async (request, reply) => {
    if (!request.session.get("userId")) return reply.code(401).send();
    return reply.type("application/json").send(BODY);
  });
  await announceFastify(app, { login: "/login" });
}

export { REDIS_URL };

/** A key prefix of its own for each benchmark server, removed when it stops. */
export function redisPrefix(name) {
  const prefix = `skbench${name}${process.pid}:`;
  onStop(() => deleteRedisKeys({ url: REDIS_URL }, `${prefix}*`));
  return prefix;
}

export function tempSqlitePath() {
  const dir = mkdtempSync(join(tmpdir(), "sessionkit-bench-"));
  process.on("exit", () => rmSync(dir, { recursive: true, force: true }));
  return join(dir, "bench.sqlite");
}

export const BENCH_SECRET = Buffer.alloc(32, 7);

/**
 * A manager for the benchmark and one signed-in session. `kind`: "memory", "sqlite",
 * "sqlite-cache", "redis", "redis-cache" (id strategy on those stores; the machine's Redis),
 * "jwt" or "hybrid" (on memory, HS256).
 */
export async function sessionkitManager(kind) {
  const { createSessionManager } = await import("../../dist/index.js");
  let store;
  if (kind.startsWith("redis")) {
    const { redisStore } = await import("../../dist/stores/redis/index.js");
    store = redisStore({ url: REDIS_URL, prefix: redisPrefix("sk") });
  } else if (kind.startsWith("sqlite")) {
    const { sqliteStore } = await import("../../dist/stores/sqlite/index.js");
    store = sqliteStore({ path: tempSqlitePath() });
  } else {
    const { memoryStore } = await import("../../dist/stores/memory/index.js");
    store = memoryStore();
  }
  if (kind === "jwt" || kind === "hybrid") {
    const keys = {
      keys: [{ kty: "oct", kid: "bench", alg: "HS256", k: BENCH_SECRET.toString("base64url") }],
    };
    const manager = createSessionManager({
      strategy: kind,
      store,
      keys,
      issuer: "https://bench.example",
      audience: "bench",
      cleanup: false,
      // Lives as long as the idle lifetime allows (hybrid refuses more): a server lives one pass.
      lifetimes: { access: "30m" },
    });
    const { token } = await manager.create({ userId: "u1", userAgent: "bench" });
    return { manager, cookie: `${kind === "jwt" ? "__Host-jwt" : "__Host-at"}=${token}`, token };
  }
  // "-cache": the local read cache, 1 s at most between store reads of a session.
  const cache = kind.endsWith("-cache") ? { maxAge: "1s" } : false;
  const manager = createSessionManager({ strategy: "id", store, cleanup: false, cache });
  const { token } = await manager.create({ userId: "u1", userAgent: "bench" });
  return { manager, cookie: `__Host-sid=${token}`, token };
}
