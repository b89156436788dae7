import { randomBytes } from "node:crypto";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { isSessionError } from "../../src/errors.js";
import { postgresStore } from "../../src/stores/postgres/index.js";
import type { SessionStore } from "../../src/stores/types.js";
import { runStoreConformance } from "../../src/testing/index.js";
import { makeRecord } from "../../src/testing/store-conformance.js";
import { tcpProxy } from "../helpers/proxy.js";
import { serviceAvailable } from "../helpers/services.js";

// The machine's PostgreSQL (127.0.0.1:5432, trust auth, database `test`), reached through a
// local TCP proxy so that the outage test can cut the network without stopping the server.
const PG_PORT = 5432;
const available = await serviceAvailable("PostgreSQL", PG_PORT);
const prefix = `sk_test_${randomBytes(4).toString("hex")}_`;
const proxy = available ? await tcpProxy(PG_PORT) : null;
const url = (port: number) => `postgres://postgres@127.0.0.1:${port}/test`;

afterAll(async () => {
  if (!available) return;
  const client = new pg.Client({ connectionString: url(PG_PORT) });
  await client.connect();
  for (const table of ["sessions", "changes", "schema"])
    await client.query(`DROP TABLE IF EXISTS ${prefix}${table}`);
  await client.end();
  await proxy?.close();
});

if (available && proxy) {
  runStoreConformance("postgres", {
    create: () =>
      postgresStore({
        connectionString: url(proxy.port),
        tablePrefix: prefix,
        connectTimeoutMs: 500,
      }),
    peer: () => postgresStore({ connectionString: url(PG_PORT), tablePrefix: prefix }),
    outage: () => ({
      async begin() {
        proxy.cut();
      },
      async end() {
        proxy.restore();
      },
    }),
  });

  describe("postgres store specifics", () => {
    it("creates its schema once, even when several instances start at the same moment", async () => {
      const p = `sk_test_${randomBytes(4).toString("hex")}_`;
      const stores = Array.from({ length: 4 }, () =>
        postgresStore({ connectionString: url(PG_PORT), tablePrefix: p }),
      );
      await Promise.all(stores.map((s) => s.ping()));
      const record = makeRecord();
      await stores[0]?.create(record, { now: record.createdAt });
      expect((await stores[3]?.get(record.id, record.createdAt))?.id).toBe(record.id);
      for (const s of stores) await s.close();
      const client = new pg.Client({ connectionString: url(PG_PORT) });
      await client.connect();
      const { rows } = await client.query(`SELECT version FROM ${p}schema`);
      expect(rows).toEqual([{ version: 2 }]);
      for (const table of ["sessions", "changes", "schema"])
        await client.query(`DROP TABLE IF EXISTS ${p}${table}`);
      await client.end();
    });

    it("migrates a schema made before bindings: its sessions stay, unbound, and can be bound", async () => {
      const p = `sk_test_${randomBytes(4).toString("hex")}_`;
      const client = new pg.Client({ connectionString: url(PG_PORT) });
      await client.connect();
      try {
        // Schema 1 (today's tables without the binding column), holding a session written the
        // way that version wrote it.
        const first = postgresStore({ connectionString: url(PG_PORT), tablePrefix: p });
        await first.ping();
        await first.close();
        await client.query(`ALTER TABLE ${p}sessions DROP COLUMN binding`);
        await client.query(`UPDATE ${p}schema SET version = 1`);
        const old = makeRecord();
        await client.query(
          `INSERT INTO ${p}sessions (id, user_id, strategy, secret_hash, previous_secret_hash,
             previous_valid_until, successor, created_at, last_active_at, renewed_at, auth_time,
             expires_at, absolute_expires_at, ip, user_agent, data, version)
           VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17)`,
          [
            old.id,
            old.userId,
            old.strategy,
            old.secretHash,
            old.previousSecretHash,
            old.previousValidUntil,
            old.successor,
            old.createdAt,
            old.lastActiveAt,
            old.renewedAt,
            old.authTime,
            old.expiresAt,
            old.absoluteExpiresAt,
            old.ip,
            old.userAgent,
            JSON.stringify(old.data),
            old.version,
          ],
        );
        // Two instances start on it at once, each running the migration check first.
        const stores = [0, 1].map(() =>
          postgresStore({ connectionString: url(PG_PORT), tablePrefix: p }),
        );
        const [a, b] = stores as [SessionStore, SessionStore];
        const now = old.createdAt;
        const read = await Promise.all([a.get(old.id, now), b.get(old.id, now)]);
        expect(read).toEqual([old, old]);
        expect(await a.bind?.(old.id, '{"kind":"dbsc"}', now)).toBe("bound");
        expect((await b.get(old.id, now))?.binding).toBe('{"kind":"dbsc"}');
        const fresh = makeRecord({ binding: '{"kind":"dpop"}' });
        await b.create(fresh, { now });
        expect(await a.get(fresh.id, now)).toEqual(fresh);
        for (const s of stores) await s.close();
        const { rows } = await client.query(`SELECT version FROM ${p}schema`);
        expect(rows).toEqual([{ version: 2 }]);
      } finally {
        for (const table of ["sessions", "changes", "schema"])
          await client.query(`DROP TABLE IF EXISTS ${p}${table}`);
        await client.end();
      }
    });

    it("uses the user and expiry indexes for its hot queries", async () => {
      const store = postgresStore({ connectionString: url(PG_PORT), tablePrefix: prefix });
      await store.ping();
      const client = new pg.Client({ connectionString: url(PG_PORT) });
      await client.connect();
      await client.query("SET enable_seqscan = off");
      const plan = async (sql: string) =>
        (await client.query(`EXPLAIN ${sql}`)).rows
          .map((r: { "QUERY PLAN": string }) => r["QUERY PLAN"])
          .join(" ");
      expect(
        await plan(
          `SELECT * FROM ${prefix}sessions WHERE user_id = 'u' AND expires_at > 0 ORDER BY created_at`,
        ),
      ).toMatch(new RegExp(`${prefix}sessions_user`));
      expect(await plan(`SELECT id FROM ${prefix}sessions WHERE expires_at <= 5 LIMIT 10`)).toMatch(
        new RegExp(`${prefix}sessions_expiry`),
      );
      await client.end();
      await store.close();
    });

    it("refuses an unsafe table prefix at construction", () => {
      let error: unknown;
      try {
        postgresStore({ connectionString: url(PG_PORT), tablePrefix: "x; DROP TABLE users; --" });
      } catch (e) {
        error = e;
      }
      expect(isSessionError(error, "CONFIG_INVALID")).toBe(true);
    });
  });
}
