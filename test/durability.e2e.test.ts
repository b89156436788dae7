import { describe, expect, it } from "vitest";
import { client, startServerProcess } from "./helpers/server.js";
import { tempDir } from "./helpers/tmp.js";

describe("crash durability (SQLite WAL)", () => {
  it("keeps every acknowledged session when the server is killed with SIGKILL", async () => {
    const dir = tempDir();
    const first = await startServerProcess(dir);
    const users = await Promise.all(
      Array.from({ length: 5 }, async (_, i) => {
        const c = client(first.url);
        const username = `crash${i}`;
        expect(
          (await c.request("POST", "/api/users", { username, password: "correct horse battery" }))
            .status,
        ).toBe(201);
        const login = await c.request("POST", "/api/id/login", {
          username,
          password: "correct horse battery",
        });
        expect(login.status).toBe(200);
        return { cookie: c.jar.get("__Host-sid") ?? "", id: login.json.session.id as string };
      }),
    );
    first.child.kill("SIGKILL");
    await new Promise((resolve) => first.child.once("exit", resolve));

    const second = await startServerProcess(dir);
    try {
      for (const user of users) {
        const me = await client(second.url).request("GET", "/api/id/me", undefined, {
          cookie: `__Host-sid=${user.cookie}`,
        });
        expect(me.status).toBe(200);
        expect(me.json.session.id).toBe(user.id);
      }
    } finally {
      expect(await second.stop()).toBe(0);
    }
  });
});
