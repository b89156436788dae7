import { randomBytes } from "node:crypto";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { isSessionError } from "../src/errors.js";
import { postgresStore } from "../src/stores/postgres/index.js";
import { runStoreConformance } from "../src/testing/index.js";
import { makeRecord } from "../src/testing/store-conformance.js";
import { tcpProxy } from "./helpers/proxy.js";
import { serviceAvailable } from "./helpers/services.js";

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
      expect(rows).toEqual([{ version: 1 }]);
      for (const table of ["sessions", "changes", "schema"])
        await client.query(`DROP TABLE IF EXISTS ${p}${table}`);
      await client.end();
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
