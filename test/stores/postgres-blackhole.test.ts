import { randomBytes } from "node:crypto";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { createSessionManager, type SessionStore } from "../../src/index.js";
import { postgresStore } from "../../src/stores/postgres/index.js";
import { generateKeySet } from "../../src/tokens/index.js";
import { dropPostgresTables, POSTGRES_URL } from "../helpers/backends.js";
import { requestWith } from "../helpers/manager.js";
import { tcpProxy } from "../helpers/proxy.js";
import { serviceAvailable } from "../helpers/services.js";

// Found by an attacker: behind a link that drops packets without closing (no FIN, no RST), the
// LISTEN connection looked healthy for good (feedLag 0, a revoked jwt still accepted at +60 s
// with maxLag 5 s) and pooled queries hung (GET /api/id/me > 20 s). The proxy's blackhole
// holds every byte both ways and keeps the sockets open; `restore` resumes them.
const available = await serviceAvailable("PostgreSQL", 5432);
const prefix = `sk_bh_${randomBytes(4).toString("hex")}_`;
const TIMEOUT = 500;
const HEARTBEAT = 1000;
const MAX_LAG = 2000;
const ID = "AAAAAAAAAAAAAAAAAAAAAA";
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const keys = generateKeySet("HS256", "k1");
const bearer = (token: string) => requestWith({ bearer: token });

afterAll(async () => {
  if (available) await dropPostgresTables(prefix);
});

/** How a call ended and when; "hung" if it had not within `ms`. */
async function outcome(call: Promise<unknown>, ms: number) {
  const started = Date.now();
  const result = await Promise.race([
    call.then(
      () => "ok",
      (error: { code?: string }) => error?.code ?? String(error),
    ),
    sleep(ms).then(() => "hung"),
  ]);
  return { result, ms: Date.now() - started };
}

const direct = () => postgresStore({ connectionString: POSTGRES_URL, tablePrefix: prefix });
const managerOn = (store: SessionStore) =>
  createSessionManager({
    strategy: "jwt",
    store,
    keys,
    issuer: "https://app.example",
    audience: "app/jwt",
    cleanup: false,
    revocation: { maxLag: MAX_LAG },
  });

/** Waits until the store's feed is current and has been for a heartbeat. */
async function current(store: SessionStore) {
  for (let i = 0; i < 500 && (store.feedLag?.() ?? 0) > 0; i++) await sleep(10);
  expect(store.feedLag?.()).toBe(0);
  await sleep(HEARTBEAT + 200);
  expect(store.feedLag?.()).toBe(0);
}

describe.skipIf(!available)("PostgreSQL store behind a silent partition", () => {
  it("answers STORE_UNAVAILABLE within its deadline and keeps no blackholed connection in its pool", async () => {
    const proxy = await tcpProxy(5432);
    const pool = new pg.Pool({
      connectionString: `postgres://postgres@127.0.0.1:${proxy.port}/test`,
      connectionTimeoutMillis: TIMEOUT,
      max: 2,
    });
    const store = postgresStore({ pool, tablePrefix: prefix, commandTimeoutMs: TIMEOUT });
    try {
      await store.ping();
      expect(pool.totalCount).toBe(1);
      proxy.blackhole();
      // More calls than the pool has connections: a stuck one would starve the rest.
      for (const call of [
        () => store.get(ID, Date.now()),
        () => store.delete(ID, "revoked"),
        () => store.ping(),
        () => store.listUser("u", Date.now()),
      ]) {
        const { result, ms } = await outcome(call(), 5000);
        expect(result).toBe("STORE_UNAVAILABLE");
        expect(ms).toBeLessThan(TIMEOUT + 400);
      }
      // The connection that was pooled when the link went silent is gone, not parked.
      for (let i = 0; i < 100 && pool.totalCount > 0; i++) await sleep(10);
      expect(pool.totalCount).toBe(0);
      proxy.restore();
      const { result } = await outcome(store.get(ID, Date.now()), 5000);
      expect(result).toBe("ok");
    } finally {
      proxy.restore();
      await store.close();
      await pool.end().catch(() => {});
      await proxy.close();
    }
  });

  it("fails closed within maxLag + one heartbeat, then recovers by itself and learns the revocation made meanwhile", async () => {
    const proxy = await tcpProxy(5432);
    const a = direct();
    const b = postgresStore({
      connectionString: `postgres://postgres@127.0.0.1:${proxy.port}/test`,
      tablePrefix: prefix,
      commandTimeoutMs: TIMEOUT,
      connectTimeoutMs: TIMEOUT,
    });
    const [ma, mb] = [managerOn(a), managerOn(b)];
    try {
      const { token } = await ma.create({ userId: "u-bh", transport: "header" });
      await current(b);
      expect((await mb.authenticate(bearer(token))).failure?.reason).toBeUndefined();

      proxy.blackhole();
      const silentAt = Date.now();
      expect((await ma.logout(bearer(token))).revoked).toBe(true);
      let staleAt = Number.POSITIVE_INFINITY;
      while (Date.now() - silentAt < MAX_LAG + HEARTBEAT + 1000) {
        if ((b.feedLag?.() ?? 0) > MAX_LAG) {
          staleAt = Date.now();
          break;
        }
        await sleep(20);
      }
      expect(staleAt - silentAt).toBeLessThanOrEqual(MAX_LAG + HEARTBEAT + 100);
      expect((await mb.authenticate(bearer(token))).failure?.reason).toBe("revocation_stale");

      proxy.restore();
      const restoredAt = Date.now();
      let reason: string | undefined;
      while (Date.now() - restoredAt < 5000) {
        reason = (await mb.authenticate(bearer(token))).failure?.reason;
        if (reason === "revoked" && b.feedLag?.() === 0) break;
        await sleep(20);
      }
      expect(reason).toBe("revoked");
      expect(b.feedLag?.()).toBe(0);
      expect((await outcome(b.ping(), 2000)).result).toBe("ok");
    } finally {
      proxy.restore();
      ma.close();
      mb.close();
      await a.close();
      await b.close();
      await proxy.close();
    }
  });
});
