import { randomBytes } from "node:crypto";
import { join } from "node:path";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { findUser } from "../../src/cli/users.js";
import { postgresUsers } from "../../src/server/users-postgres.js";
import { sqliteUsers } from "../../src/server/users-sqlite.js";
import { dropPostgresTables, POSTGRES_URL } from "../helpers/backends.js";
import { serviceAvailable } from "../helpers/services.js";
import { tempDir } from "../helpers/tmp.js";

// `sessions list --user NAME`: the name goes to a SQL query of the user table. Injection,
// LIKE wildcards, a NUL and a megabyte find no one (and never throw), while the real name does.
const HOSTILE = [
  "x' OR '1'='1",
  "alice' --",
  "' UNION SELECT id, username FROM sessionkit_users --",
  "%",
  "_lice",
  "ALICE%",
  "a\0lice",
  "alice\0",
  "é'\"\\",
  "a".repeat(1_000_000),
];

describe("findUser under hostile names", () => {
  it("SQLite: finds alice by name only, and no one for any hostile value", async () => {
    const file = join(tempDir(), "users.sqlite");
    const users = sqliteUsers(file);
    const alice = await users.create("alice", "hash", Date.now());
    users.close();
    expect(await findUser(file, "Alice")).toEqual({ id: alice?.id, username: "alice" });
    for (const value of HOSTILE) expect(await findUser(file, value), value.slice(0, 40)).toBeNull();
  });

  it("PostgreSQL: the same", async () => {
    if (!(await serviceAvailable("PostgreSQL", 5432))) return;
    const prefix = `atk_${randomBytes(4).toString("hex")}_`;
    const before = process.env.SESSIONKIT_TABLE_PREFIX;
    process.env.SESSIONKIT_TABLE_PREFIX = prefix;
    afterAll(async () => {
      if (before === undefined) delete process.env.SESSIONKIT_TABLE_PREFIX;
      else process.env.SESSIONKIT_TABLE_PREFIX = before;
      await dropPostgresTables(prefix);
    });
    const users = postgresUsers(pg, POSTGRES_URL, prefix);
    const alice = await users.create("alice", "hash", Date.now());
    users.close();
    expect(await findUser(POSTGRES_URL, "ALICE")).toEqual({ id: alice?.id, username: "alice" });
    for (const value of HOSTILE)
      expect(await findUser(POSTGRES_URL, value), value.slice(0, 40)).toBeNull();
  });
});
