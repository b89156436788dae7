import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { client, startServerProcess } from "../helpers/server.js";
import { tempDir } from "../helpers/tmp.js";

// The reference server with `--store memory` keeps its signing keys (and users) across a
// restart but not its sessions nor their revocations: every jwt/hybrid token issued before the
// restart must then be refused, since it may have been revoked unheard.
const PASSWORD = "correct horse battery";
// A fixed public origin, hence the same token issuer before and after the restart.
const ORIGIN = "https://app.example";

describe("reference server with --store memory across a restart", () => {
  it("refuses jwt and hybrid tokens issued before the restart, and signs in anew", async () => {
    const dir = tempDir();
    const args = ["--store", "memory", "--database", join(dir, "users.sqlite"), "--origin", ORIGIN];
    let server = await startServerProcess(dir, args);
    const tokens: Array<[string, string]> = [];
    try {
      const signup = await client(server.url, ORIGIN).request("POST", "/api/users", {
        username: "restart",
        password: PASSWORD,
      });
      expect(signup.status).toBe(201);
      for (const strategy of ["jwt", "hybrid"]) {
        const login = await client(server.url, ORIGIN).request("POST", `/api/${strategy}/login`, {
          username: "restart",
          password: PASSWORD,
          transport: "header",
        });
        expect(login.status, login.text).toBe(200);
        tokens.push([strategy, login.json.accessToken]);
      }
    } finally {
      expect(await server.stop()).toBe(0);
    }
    server = await startServerProcess(dir, args);
    try {
      for (const [strategy, token] of tokens) {
        const me = await client(server.url, null).request("GET", `/api/${strategy}/me`, undefined, {
          authorization: `Bearer ${token}`,
        });
        expect(me.status, strategy).toBe(401);
        const login = await client(server.url, ORIGIN).request("POST", `/api/${strategy}/login`, {
          username: "restart",
          password: PASSWORD,
          transport: "header",
        });
        const fresh = await client(server.url, null).request(
          "GET",
          `/api/${strategy}/me`,
          undefined,
          { authorization: `Bearer ${login.json.accessToken}` },
        );
        expect(fresh.status, strategy).toBe(200);
      }
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });
});
