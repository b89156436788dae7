import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { dropPostgresTables, POSTGRES_URL } from "../helpers/backends.js";
import { CLI, client, startServerProcess } from "../helpers/server.js";
import { serviceAvailable } from "../helpers/services.js";
import { tempDir } from "../helpers/tmp.js";

// `sessions list|revoke --user` against the database a real (built) server wrote: the name a
// person registered with finds their sessions, and a name nobody has is an error.
const PASSWORD = "correct horse battery";

/** Registers `username` on a fresh built server and signs it in twice; returns the user id. */
async function serverWithUser(dir: string, args: string[], env: Record<string, string> = {}) {
  const server = await startServerProcess(dir, args, env);
  try {
    const body = { username: "Alice", password: PASSWORD };
    const registered = await client(server.url).request("POST", "/api/users", body);
    expect(registered.status).toBe(201);
    let me: { json: { user?: { id?: string } } } = { json: {} };
    for (let i = 0; i < 3; i++) {
      const user = client(server.url);
      expect((await user.request("POST", "/api/id/login", body)).status).toBe(200);
      me = await user.request("GET", "/api/id/me");
    }
    return String(me.json.user?.id);
  } finally {
    await server.stop();
  }
}

function cli(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    encoding: "utf8",
    env: { ...process.env, ...env },
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe("sessions --user with the reference server's users (SQLite)", () => {
  const dir = tempDir();
  const db = ["--database", join(dir, "db.sqlite")];
  let userId = "";

  it("lists a user's sessions by username, in any case, and by user id", async () => {
    userId = await serverWithUser(dir, []);
    const byName = cli(["sessions", "list", "--user", "alice", ...db, "--json"]);
    expect(byName.code, byName.err).toBe(0);
    const sessions = JSON.parse(byName.out) as Array<{ userId: string }>;
    expect(sessions).toHaveLength(3);
    expect(sessions.every((s) => s.userId === userId)).toBe(true);
    expect(byName.err).toContain(`user Alice has id ${userId}`);
    const byId = cli(["sessions", "list", "--user", userId, ...db, "--json"]);
    expect(JSON.parse(byId.out)).toEqual(sessions);
    const table = cli(["sessions", "list", "--user", "ALICE", ...db]);
    expect(table.out.trim().split("\n")).toHaveLength(4); // header + 3 sessions
  });

  it("says an unknown user is unknown (exit 1) instead of printing an empty table", () => {
    for (const sub of [["list"], ["revoke"]]) {
      const r = cli(["sessions", ...sub, "--user", "bob", ...db]);
      expect(r.code, sub[0]).toBe(1);
      expect(r.out).toBe("");
      expect(r.err.trim()).toBe(
        `sessionkit: unknown user "bob": no such username in ${db[1]}, and no live sessions with that user id`,
      );
    }
  });

  it("revokes every session of a user by username; a known user without sessions lists none", () => {
    const r = cli(["sessions", "revoke", "--user", "alice", ...db]);
    expect(r.code).toBe(0);
    expect(r.out.trim()).toBe("revoked 3 session(s) of user alice");
    const after = cli(["sessions", "list", "--user", "alice", ...db, "--json"]);
    expect(after.code).toBe(0);
    expect(JSON.parse(after.out)).toEqual([]);
  });

  it("leaves a database without the user table as it was", () => {
    const fresh = ["--database", join(dir, "app.sqlite")];
    expect(cli(["migrate", ...fresh]).code).toBe(0);
    const r = cli(["sessions", "list", "--user", "u-1", ...fresh]);
    expect(r.code).toBe(1);
    const tables = spawnSync(
      process.execPath,
      [
        "-e",
        `const D=require("better-sqlite3");const d=new D(${JSON.stringify(fresh[1])});console.log(d.prepare("select count(*) n from sqlite_master where name='sessionkit_users'").get().n)`,
      ],
      { encoding: "utf8" },
    );
    expect(tables.stdout.trim()).toBe("0");
  });
});

const pgUp = await serviceAvailable("PostgreSQL", 5432);

describe.skipIf(!pgUp)("sessions --user with the reference server's users (PostgreSQL)", () => {
  const prefix = `sk_cliusers_${randomBytes(4).toString("hex")}_`;
  const env = { SESSIONKIT_TABLE_PREFIX: prefix };
  afterAll(() => dropPostgresTables(prefix));

  it("finds the user by username in the shared database", async () => {
    const userId = await serverWithUser(tempDir(), ["--database", POSTGRES_URL], env);
    const r = cli(
      ["sessions", "list", "--user", "alice", "--database", POSTGRES_URL, "--json"],
      env,
    );
    expect(r.code, r.err).toBe(0);
    const sessions = JSON.parse(r.out) as Array<{ userId: string }>;
    expect(sessions.map((s) => s.userId)).toEqual([userId, userId, userId]);
    const unknown = cli(["sessions", "list", "--user", "bob", "--database", POSTGRES_URL], env);
    expect(unknown.code).toBe(1);
    expect(unknown.err).toMatch(/unknown user "bob"/);
  });
});
