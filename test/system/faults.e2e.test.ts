import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deleteRedisKeys, dropPostgresTables } from "../helpers/backends.js";
import { tcpProxy } from "../helpers/proxy.js";
import { client, type ServerProcess, startServerProcess, statusWithin } from "../helpers/server.js";
import { serviceAvailable } from "../helpers/services.js";
import { tempDir } from "../helpers/tmp.js";

// A server process whose store (PostgreSQL, Redis) is reached through a TCP proxy on
// 127.0.0.1: the test cuts the network under traffic and restores it, and the server must
// answer 503 within a bounded time (never hang, never 500, never exit), then recover without
// a restart.
const ORIGIN = "https://app.example";
const PASSWORD = "correct horse battery";

const backends = [
  {
    name: "PostgreSQL",
    port: 5432,
    url: (port: number) => `postgres://postgres@127.0.0.1:${port}/test`,
    available: await serviceAvailable("PostgreSQL", 5432),
    cleanup: dropPostgresTables,
  },
  {
    name: "Redis",
    port: 6379,
    url: (port: number) => `redis://127.0.0.1:${port}`,
    available: await serviceAvailable("Redis", 6379),
    cleanup: deleteRedisKeys,
  },
];

for (const backend of backends) {
  describe.skipIf(!backend.available)(
    `store outage under a running server (${backend.name})`,
    () => {
      const prefix = `sk_fault_${randomBytes(4).toString("hex")}_`;
      let server: ServerProcess;
      let proxy: Awaited<ReturnType<typeof tcpProxy>>;

      beforeAll(async () => {
        proxy = await tcpProxy(backend.port);
        const dir = tempDir();
        server = await startServerProcess(
          dir,
          ["--store", backend.url(proxy.port), "--origin", ORIGIN, "--max-lag", "500ms"],
          { SESSIONKIT_TABLE_PREFIX: prefix },
        );
        const r = await client(server.url, ORIGIN).request("POST", "/api/users", {
          username: "fault",
          password: PASSWORD,
        });
        expect(r.status).toBe(201);
      });
      afterAll(async () => {
        expect(await server.stop()).toBe(0); // it never died on its own
        await proxy.close();
        await backend.cleanup(prefix);
      });

      const signIn = async (strategy: string) => {
        const r = await client(server.url, null).request(
          "POST",
          `/api/${strategy}/login`,
          { username: "fault", password: PASSWORD, transport: "header" },
          { origin: ORIGIN },
        );
        expect(r.status).toBe(200);
        return { authorization: `Bearer ${r.json.accessToken}` };
      };

      it("answers 503 quickly while the store is cut, and recovers by itself when it returns", async () => {
        const auth = await signIn("id");
        const api = client(server.url, null);
        expect((await api.request("GET", "/api/id/me", undefined, auth)).status).toBe(200);
        proxy.cut();
        try {
          // The server's id cache (its default: --max-lag, 500 ms here, when that is shorter
          // than 1 s) may answer from what it read within that age; past it, the store decides.
          await new Promise((resolve) => setTimeout(resolve, 600));
          const started = Date.now();
          const during = await Promise.all(
            Array.from({ length: 20 }, () => api.request("GET", "/api/id/me", undefined, auth)),
          );
          expect(during.map((r) => r.status)).toEqual(Array(20).fill(503));
          expect(during[0]?.json.code).toBe("store_unavailable");
          expect(Date.now() - started).toBeLessThan(5000);
          expect((await api.request("GET", "/healthz")).status).toBe(503);
        } finally {
          proxy.restore();
        }
        expect(
          await statusWithin(
            () => api.request("GET", "/api/id/me", undefined, auth),
            200,
            5000,
            50,
          ),
        ).toBe(200);
        // Healthy again once the revocation feed has reconnected and replayed too (it may
        // follow the pool by a moment: until then /healthz says feed_behind).
        expect(await statusWithin(() => api.request("GET", "/healthz"), 200, 5000, 50)).toBe(200);
      });

      it("jwt verification fails closed once the change feed has been cut longer than maxLag, and recovers", async () => {
        const auth = await signIn("jwt");
        const api = client(server.url, null);
        // The previous test cut the store too: its feed counts as current again only once
        // pub/sub is back and the log has been read since (within a few seconds).
        expect(
          await statusWithin(
            () => api.request("GET", "/api/jwt/me", undefined, auth),
            200,
            5000,
            50,
          ),
        ).toBe(200);
        proxy.cut();
        try {
          // Within maxLag (500 ms) the token still verifies: it needs no store.
          expect((await api.request("GET", "/api/jwt/me", undefined, auth)).status).toBe(200);
          // Past maxLag (500 ms) and the Redis feed's 1 s log-reading interval.
          await new Promise((resolve) => setTimeout(resolve, 2000));
          const stale = await api.request("GET", "/api/jwt/me", undefined, auth);
          expect(stale.status).toBe(503);
        } finally {
          proxy.restore();
        }
        expect(
          await statusWithin(
            () => api.request("GET", "/api/jwt/me", undefined, auth),
            200,
            5000,
            50,
          ),
        ).toBe(200);
      });
    },
  );
}
