import { type SpawnSyncReturns, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { deleteRedisKeys } from "../helpers/backends.js";
import { serviceAvailable } from "../helpers/services.js";
import { tempDir } from "../helpers/tmp.js";

// The package as an Express app on Redis installs it: `npm pack`, then `npm install` of the
// tarball with express and redis (from the registry) into a new project in the temp folder.
// No native module, no Hono: better-sqlite3, hono and @hono/node-server are optional peers,
// and what needs them says so in one line.
const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const TSC = join(ROOT, "node_modules/typescript/bin/tsc");
const redisUp = await serviceAvailable("Redis", 6379);
const prefix = `skpkg${randomBytes(4).toString("hex")}:`;

// npm run from `npm test` exports its own settings; `local_prefix` would point the inner
// installs at this repository instead of the temporary project.
const env = Object.fromEntries(
  Object.entries(process.env).filter(
    ([name]) => !/^npm_(config_local_prefix|config_prefix|package_|lifecycle_)/i.test(name),
  ),
);

function run(command: string, args: string[], cwd: string): SpawnSyncReturns<string> {
  return spawnSync(command, args, { cwd, env, encoding: "utf8", timeout: 120_000 });
}
const ok = (r: SpawnSyncReturns<string>) => {
  expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
  return r.stdout;
};

/** Every file under `dir`, relative paths. */
function walk(dir: string, base = dir): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...walk(path, base));
    else out.push(path.slice(base.length + 1));
  }
  return out;
}

const project = tempDir("sessionkit-install-");
const modules = join(project, "node_modules");

beforeAll(() => {
  // `npm pack` runs `prepare` (the build): the tarball is what would be published.
  const packed = JSON.parse(
    ok(run("npm", ["pack", "--json", "--pack-destination", project], ROOT)),
  ) as Array<{ filename: string }>;
  const tarball = join(project, packed[0]?.filename ?? "");
  writeFileSync(
    join(project, "package.json"),
    JSON.stringify({ name: "app", private: true, type: "module" }),
  );
  ok(
    run(
      "npm",
      [
        "install",
        "--prefer-offline",
        "--no-audit",
        "--no-fund",
        tarball,
        "express@^5",
        "redis@^5",
        // What a TypeScript Express app adds; nothing for SQLite.
        "@types/express@^5",
        "@types/node@^20",
      ],
      project,
    ),
  );
}, 180_000);

describe("installed for Express on Redis", () => {
  it("brings no native module and no web framework it was not asked for", () => {
    expect(existsSync(join(modules, "sessionkit/package.json"))).toBe(true);
    for (const name of ["better-sqlite3", "hono", "@hono/node-server", "@types/better-sqlite3"]) {
      expect(existsSync(join(modules, name)), name).toBe(false);
    }
    const native = walk(modules).filter(
      (file) => file.endsWith(".node") || file.endsWith("binding.gyp"),
    );
    expect(native).toEqual([]);
  });

  it.skipIf(!redisUp)(
    "works: sessionkit, its Express adapter and Redis store, a session through real Express",
    async () => {
      writeFileSync(
        join(project, "express-redis.mjs"),
        `import { createServer } from "node:http";
import express from "express";
import { createSessionManager, generateKeySet } from "sessionkit";
import { requireSession, sessionkit, sessionErrors, signIn } from "sessionkit/adapters/express";
import { redisStore } from "sessionkit/stores/redis";

const store = redisStore({ url: "redis://127.0.0.1:6379", prefix: ${JSON.stringify(prefix)} });
const manager = createSessionManager({ strategy: "id", store, keys: generateKeySet(), cleanup: false });
const app = express();
app.use(sessionkit(manager));
app.post("/login", async (req, res) => {
  const session = await signIn(req, res, { userId: "u-pkg" });
  res.json({ userId: session.userId });
});
app.get("/me", requireSession(), (req, res) => res.json({ userId: req.session.userId }));
app.use(sessionErrors());
const server = createServer(app).listen(0, "127.0.0.1");
await new Promise((resolve) => server.once("listening", resolve));
const base = "http://127.0.0.1:" + server.address().port;
const login = await fetch(base + "/login", { method: "POST", headers: { "sec-fetch-site": "same-origin" } });
const cookie = login.headers.getSetCookie().map((c) => c.split(";")[0]).join("; ");
const me = await fetch(base + "/me", { headers: { cookie } });
const anonymous = await fetch(base + "/me");
const listed = await manager.list("u-pkg");
console.log(JSON.stringify({
  login: login.status,
  me: me.status,
  user: (await me.json()).userId,
  anonymous: anonymous.status,
  type: anonymous.headers.get("content-type"),
  stored: listed.length,
}));
await manager.revokeUser("u-pkg");
server.close();
manager.close();
await store.close();
`,
      );
      try {
        const out = JSON.parse(ok(run(process.execPath, ["express-redis.mjs"], project)));
        expect(out).toEqual({
          login: 200,
          me: 200,
          user: "u-pkg",
          anonymous: 401,
          type: "application/problem+json",
          stored: 1,
        });
      } finally {
        await deleteRedisKeys(prefix);
      }
    },
    60_000,
  );

  it("importing sessionkit/stores/sqlite says, in one line, what to install", () => {
    writeFileSync(
      join(project, "sqlite.mjs"),
      `try {
  await import("sessionkit/stores/sqlite");
  console.log(JSON.stringify({ imported: true }));
} catch (error) {
  console.log(JSON.stringify({ name: error.name, code: error.code, message: error.message }));
}
`,
    );
    expect(JSON.parse(ok(run(process.execPath, ["sqlite.mjs"], project)))).toEqual({
      name: "SessionError",
      code: "CONFIG_INVALID",
      message:
        "sessionkit/stores/sqlite needs the better-sqlite3 package: npm install better-sqlite3",
    });
  });

  it("the CLI: keys works without Hono; serve and the SQLite store say what to install", () => {
    const cli = (...args: string[]) => run(join(modules, ".bin/sessionkit"), args, project);
    const keys = cli("keys", "generate");
    expect(keys.status, keys.stderr).toBe(0);
    expect(JSON.parse(keys.stdout).keys).toHaveLength(1);
    const serve = cli("serve", "--port", "0");
    expect(serve.status).toBe(2);
    expect(serve.stderr).toBe(
      "sessionkit: serve needs the hono and @hono/node-server packages: npm install hono @hono/node-server\n",
    );
    const list = cli("sessions", "list", "--user", "u1");
    expect(list.status).toBe(2);
    expect(list.stderr).toBe(
      "sessionkit: sessionkit/stores/sqlite needs the better-sqlite3 package: npm install better-sqlite3\n",
    );
  });

  it("its types compile without @types/better-sqlite3 (skipLibCheck off), the SQLite store's included", () => {
    writeFileSync(
      join(project, "app.ts"),
      `import { createSessionManager, type Duration, type SessionManager } from "sessionkit";
import { requireSession, sessionkit } from "sessionkit/adapters/express";
import type { SqliteDatabase, SqliteStoreOptions, sqliteStore } from "sessionkit/stores/sqlite";
import { redisStore } from "sessionkit/stores/redis";
import { memoryStore } from "sessionkit/stores/memory";

const idle: Duration = process.env.IDLE ?? "30m";
const manager: SessionManager = createSessionManager({
  strategy: "id",
  store: process.env.REDIS_URL ? redisStore({ url: process.env.REDIS_URL }) : memoryStore(),
  lifetimes: { idle },
});
export const middleware = [sessionkit(manager), requireSession()];
export const options: SqliteStoreOptions = { path: "data/sessions.db" };
export type Make = typeof sqliteStore;
export type Db = SqliteDatabase;
`,
    );
    writeFileSync(
      join(project, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          target: "ES2023",
          module: "NodeNext",
          moduleResolution: "NodeNext",
          strict: true,
          skipLibCheck: false,
          noEmit: true,
        },
        files: ["app.ts"],
      }),
    );
    ok(run(process.execPath, [TSC, "-p", "tsconfig.json"], project));
  });
});
