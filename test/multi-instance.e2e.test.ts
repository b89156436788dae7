import { randomBytes } from "node:crypto";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { client, type ServerProcess, startServerProcess } from "./helpers/server.js";
import { serviceAvailable } from "./helpers/services.js";
import { tempDir } from "./helpers/tmp.js";

// Three server processes on different ports sharing one PostgreSQL store (and one users file
// and key file): a session made on A works on B and C; revoked on C, it fails on A and B.
const available = await serviceAvailable("PostgreSQL", 5432);
const PG = "postgres://postgres@127.0.0.1:5432/test";
const prefix = `sk_multi_${randomBytes(4).toString("hex")}_`;
const dir = tempDir();
const servers: ServerProcess[] = [];
const PASSWORD = "correct horse battery";
const ORIGIN = "https://app.example";

describe.skipIf(!available)("three instances on one PostgreSQL store", () => {
  beforeAll(async () => {
    const args = [
      "--store",
      PG,
      "--database",
      join(dir, "users.sqlite"),
      "--keys",
      join(dir, "keys.json"),
      // Behind one load balancer the instances share a public origin, hence one token issuer.
      "--origin",
      ORIGIN,
    ];
    servers.push(await startServerProcess(dir, args, { SESSIONKIT_TABLE_PREFIX: prefix }));
    // The first start wrote the key file and the schema; the others share them.
    servers.push(
      ...(await Promise.all(
        [1, 2].map(() => startServerProcess(dir, args, { SESSIONKIT_TABLE_PREFIX: prefix })),
      )),
    );
    const r = await client(servers[0]?.url ?? "", ORIGIN).request("POST", "/api/users", {
      username: "multi",
      password: PASSWORD,
    });
    expect(r.status).toBe(201);
  });
  afterAll(async () => {
    for (const s of servers) expect(await s.stop()).toBe(0);
    const c = new pg.Client({ connectionString: PG });
    await c.connect();
    for (const table of ["sessions", "changes", "schema"])
      await c.query(`DROP TABLE IF EXISTS ${prefix}${table}`);
    await c.end();
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
      for (const other of [b, c])
        expect((await other.request("GET", `/api/${strategy}/me`, undefined, auth)).status).toBe(
          200,
        );
      const started = Date.now();
      expect(
        (
          await c.request(
            "DELETE",
            `/api/${strategy}/sessions/${login.json.session.id}`,
            undefined,
            auth,
          )
        ).status,
      ).toBe(204);
      for (const other of [a, b]) {
        let status = 200;
        while (status === 200 && Date.now() - started < 3000) {
          status = (await other.request("GET", `/api/${strategy}/me`, undefined, auth)).status;
          if (status === 200) await new Promise((resolve) => setTimeout(resolve, 5));
        }
        expect(status).toBe(401);
      }
      // Propagation through LISTEN/NOTIFY is well under the 5 s maxLag.
      expect(Date.now() - started).toBeLessThan(1000);
    });
  }
});
