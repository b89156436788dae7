import { spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { createServer } from "node:net";
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

  for (const name of ["express", "fastify", "hono", "node-http"]) {
    it(`${name}: on a port already in use, exits 1 with one line and never claims to listen`, async () => {
      const taken = createServer();
      taken.listen(0, "127.0.0.1");
      await once(taken, "listening");
      const { port } = taken.address() as { port: number };
      const dir = tempDir();
      try {
        const child = spawn(process.execPath, [join(ROOT, "examples", name, "server.js")], {
          cwd: dir,
          env: { ...process.env, PORT: String(port), DATABASE: join(dir, "example.db") },
          stdio: ["ignore", "pipe", "pipe"],
        });
        let out = "";
        let err = "";
        child.stdout.on("data", (d: Buffer) => {
          out += d.toString();
        });
        child.stderr.on("data", (d: Buffer) => {
          err += d.toString();
        });
        const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
        const [code] = (await once(child, "exit")) as [number | null];
        clearTimeout(timer);
        expect(code, `${out}${err}`).toBe(1);
        expect(out).not.toMatch(/listening/);
        expect(err).toBe(
          `cannot listen on 127.0.0.1:${port}: the port is in use (the reference server or another example?); set PORT to a free one\n`,
        );
      } finally {
        taken.close();
      }
    });
  }

  it("default to port 3001, beside the reference server's 3000", () => {
    const { PORT: _, ...env } = process.env;
    const r = spawnSync(
      process.execPath,
      ["--input-type=module", "-e", 'console.log((await import("./examples/start.js")).port)'],
      { cwd: ROOT, env, encoding: "utf8" },
    );
    expect(r.stdout.trim(), r.stderr).toBe("3001");
  });
});
