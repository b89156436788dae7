import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { deleteRedisKeys, dropPostgresTables, POSTGRES_URL } from "../helpers/backends.js";
import { client, startServerProcess } from "../helpers/server.js";
import { serviceAvailable } from "../helpers/services.js";
import { tempDir } from "../helpers/tmp.js";

// A server killed with SIGKILL in the middle of sign-ins loses no session it had acknowledged:
// a new process on the same store accepts every cookie that was answered with 200.
const PG = POSTGRES_URL;
const backends = [
  {
    name: "SQLite WAL",
    store: null as string | null,
    available: true,
    cleanup: async (_: string) => {},
  },
  {
    name: "PostgreSQL",
    store: PG,
    available: await serviceAvailable("PostgreSQL", 5432),
    cleanup: dropPostgresTables,
  },
  {
    name: "Redis",
    store: "redis://127.0.0.1:6379",
    available: await serviceAvailable("Redis", 6379),
    cleanup: deleteRedisKeys,
  },
];

for (const backend of backends) {
  describe.skipIf(!backend.available)(`crash durability (${backend.name})`, () => {
    it("keeps every acknowledged session when the server is killed with SIGKILL mid-traffic", async () => {
      const dir = tempDir();
      const prefix = `sk_crash_${randomBytes(4).toString("hex")}_`;
      const args = backend.store ? ["--store", backend.store] : [];
      const env = { SESSIONKIT_TABLE_PREFIX: prefix };
      const first = await startServerProcess(dir, args, env);
      const signUp = client(first.url);
      for (let i = 0; i < 5; i++) {
        const r = await signUp.request("POST", "/api/users", {
          username: `crash${i}`,
          password: "correct horse battery",
        });
        expect(r.status).toBe(201);
      }
      // Sign-ins keep arriving while the process is killed; only those answered count.
      const acknowledged: Array<{ cookie: string; id: string }> = [];
      const traffic = Array.from({ length: 40 }, async (_, i) => {
        const c = client(first.url);
        try {
          const login = await c.request("POST", "/api/id/login", {
            username: `crash${i % 5}`,
            password: "correct horse battery",
          });
          if (login.status === 200)
            acknowledged.push({ cookie: c.jar.get("__Host-sid") ?? "", id: login.json.session.id });
        } catch {
          // cut off by the kill: not acknowledged
        }
      });
      // Kill once a few sign-ins have been answered and the rest are still in flight.
      const deadline = Date.now() + 10_000;
      while (acknowledged.length < 3 && Date.now() < deadline)
        await new Promise((resolve) => setTimeout(resolve, 2));
      first.child.kill("SIGKILL");
      await Promise.all(traffic);
      if (first.child.exitCode === null && first.child.signalCode === null) {
        await new Promise((resolve) => first.child.once("exit", resolve));
      }
      expect(acknowledged.length).toBeGreaterThan(0);

      const second = await startServerProcess(dir, args, env);
      try {
        for (const session of acknowledged) {
          const me = await client(second.url).request("GET", "/api/id/me", undefined, {
            cookie: `__Host-sid=${session.cookie}`,
          });
          expect(me.status).toBe(200);
          expect(me.json.session.id).toBe(session.id);
        }
      } finally {
        expect(await second.stop()).toBe(0);
        await backend.cleanup(prefix);
      }
    });
  });
}
