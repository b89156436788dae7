import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deleteRedisKeys, dropPostgresTables, POSTGRES_URL } from "../helpers/backends.js";
import { client, type ServerProcess, startServerProcess, statusWithin } from "../helpers/server.js";
import { serviceAvailable } from "../helpers/services.js";
import { tempDir } from "../helpers/tmp.js";

// Three server processes on different ports sharing one store, one user database (SQLite
// file, or PostgreSQL with the PostgreSQL store) and one key file: a session made on A works
// on B and C; revoked on C, it is refused on A and B, for each strategy and each shared backend.
const PASSWORD = "correct horse battery";
const ORIGIN = "https://app.example";
const prefix = () => `sk_multi_${randomBytes(4).toString("hex")}_`;

interface Backend {
  name: string;
  store: string | null;
  /** Where users live, if not in a SQLite file shared by the three. */
  database?: string;
  cleanup(prefix: string): Promise<void>;
}

const PG = POSTGRES_URL;
const clusterNodes = process.env.SESSIONKIT_TEST_REDIS_CLUSTER;
const backends: Backend[] = [
  {
    name: "PostgreSQL",
    store: (await serviceAvailable("PostgreSQL", 5432)) ? PG : null,
    database: PG,
    cleanup: dropPostgresTables,
  },
  {
    name: "Redis",
    store: (await serviceAvailable("Redis", 6379)) ? "redis://127.0.0.1:6379" : null,
    cleanup: deleteRedisKeys,
  },
  {
    // Keys of the cluster run expire by TTL; the cluster itself is thrown away by .ci/run.
    name: "Redis Cluster",
    store: clusterNodes ? `redis-cluster://${clusterNodes}` : null,
    async cleanup() {},
  },
];

for (const backend of backends) {
  describe.skipIf(!backend.store)(`three instances on one ${backend.name} store`, () => {
    const dir = tempDir();
    const servers: ServerProcess[] = [];
    const tablePrefix = prefix();

    beforeAll(async () => {
      const args = [
        "--store",
        backend.store ?? "",
        "--database",
        backend.database ?? join(dir, "users.sqlite"),
        "--keys",
        join(dir, "keys.json"),
        // Behind one load balancer the instances share a public origin, hence one token issuer.
        "--origin",
        ORIGIN,
      ];
      const env = { SESSIONKIT_TABLE_PREFIX: tablePrefix };
      servers.push(await startServerProcess(dir, args, env));
      // The first start wrote the key file and the schema; the others share them.
      servers.push(...(await Promise.all([1, 2].map(() => startServerProcess(dir, args, env)))));
      const r = await client(servers[0]?.url ?? "", ORIGIN).request("POST", "/api/users", {
        username: "multi",
        password: PASSWORD,
      });
      expect(r.status).toBe(201);
    });
    afterAll(async () => {
      for (const s of servers) expect(await s.stop()).toBe(0);
      await backend.cleanup(tablePrefix);
    });

    for (const strategy of ["id", "jwt", "hybrid"]) {
      it(`${strategy}: sign in on A, use on B and C, revoke on C, refused on A and B`, async () => {
        const [a, b, c] = servers.map((s) => client(s.url, null));
        if (!a || !b || !c) throw new Error("servers missing");
        const login = await a.request(
          "POST",
          `/api/${strategy}/login`,
          { username: "multi", password: PASSWORD, transport: "header" },
          { origin: ORIGIN },
        );
        expect(login.status, login.text).toBe(200);
        const auth = { authorization: `Bearer ${login.json.accessToken}` };
        for (const other of [b, c]) {
          expect((await other.request("GET", `/api/${strategy}/me`, undefined, auth)).status).toBe(
            200,
          );
        }
        const started = Date.now();
        const revoked = await c.request(
          "DELETE",
          `/api/${strategy}/sessions/${login.json.session.id}`,
          undefined,
          auth,
        );
        expect(revoked.status).toBe(204);
        for (const other of [a, b]) {
          const me = () => other.request("GET", `/api/${strategy}/me`, undefined, auth);
          expect(await statusWithin(me, 401, 3000 - (Date.now() - started), 5)).toBe(401);
        }
        // Through the change feed, well under the 5 s maxLag.
        expect(Date.now() - started).toBeLessThan(1000);
      });
    }
  });
}
