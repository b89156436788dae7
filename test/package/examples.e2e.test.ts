import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { client, startNodeProcess } from "../helpers/server.js";
import { tempDir } from "../helpers/tmp.js";

// Each example in examples/ as a user runs it: its own process (node server.js, on the built
// package), exercised over HTTP, then stopped.
const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const ORIGIN = "https://app.example";

describe("examples", () => {
  for (const name of ["express", "fastify", "hono", "node-http"]) {
    it(`${name}: starts, signs in, serves the protected route, signs out, stops`, async () => {
      const dir = tempDir();
      const server = await startNodeProcess([join(ROOT, "examples", name, "server.js")], {
        cwd: dir,
        env: { PORT: "0", ORIGIN, DATABASE: join(dir, "example.db") },
      });
      try {
        const user = client(server.url, ORIGIN);
        expect((await user.request("GET", "/me")).status).toBe(401);
        const wrong = await user.request("POST", "/login", { username: "alice", password: "no" });
        expect(wrong.status).toBe(401);
        const login = await user.request("POST", "/login", {
          username: "alice",
          password: "wonderland",
        });
        expect(login.status).toBe(200);
        const me = await user.request("GET", "/me");
        expect(me.status).toBe(200);
        expect(me.json).toEqual({ userId: "u-alice" });
        expect((await user.request("POST", "/logout")).status).toBe(204);
        expect((await user.request("GET", "/me")).status).toBe(401);
      } finally {
        await server.stop();
      }
    });
  }
});
