import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { run } from "../../src/cli/main.js";
import { createSessionManager } from "../../src/index.js";
import { resolveServerConfig } from "../../src/server/config.js";
import { sqliteStore } from "../../src/stores/sqlite/index.js";
import { CLI } from "../helpers/server.js";
import { tempDir } from "../helpers/tmp.js";

const dir = tempDir();
const db = join(dir, "cli.sqlite");

async function cli(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await run(argv, { out: (l) => out.push(l), err: (l) => err.push(l), env: {} });
  return { code, out: out.join("\n"), err: err.join("\n"), errLines: err.length };
}

async function seedSessions(userId: string, count: number) {
  const store = sqliteStore({ path: db });
  const manager = createSessionManager({ strategy: "id", store, cleanup: false });
  const ids: string[] = [];
  for (let i = 0; i < count; i++)
    ids.push((await manager.create({ userId, userAgent: `agent-${i}` })).session.id);
  manager.close();
  await store.close();
  return ids;
}

describe("sessionkit CLI", () => {
  it("exits 2 with a one-line reason on usage errors", async () => {
    for (const argv of [
      [],
      ["frobnicate"],
      ["sessions"],
      ["sessions", "list"],
      ["sessions", "revoke"],
      ["serve", "--nope"],
      ["serve", "--idle", "soon"],
      ["serve", "--store", "mongodb://x"],
    ]) {
      const r = await cli(...argv);
      expect(r.code, argv.join(" ")).toBe(2);
      expect(r.errLines).toBe(1);
      expect(r.err).toMatch(/^sessionkit: /);
    }
  });

  it("migrate creates the schema", async () => {
    const r = await cli("migrate", "--database", join(dir, "fresh.sqlite"));
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/schema is up to date/);
  });

  it("lists a user's sessions and revokes one by id, even one starting with '-'", async () => {
    const ids = await seedSessions("cli-user", 2);
    const list = await cli("sessions", "list", "--user", "cli-user", "--database", db);
    expect(list.code).toBe(0);
    for (const id of ids) expect(list.out).toContain(id);
    const json = await cli("sessions", "list", "--user", "cli-user", "--database", db, "--json");
    const parsed = JSON.parse(json.out) as Array<Record<string, unknown>>;
    expect(parsed.map((s) => s.id)).toEqual(ids);
    expect(json.out).not.toContain("secretHash");
    const revoke = await cli("sessions", "revoke", "--database", db, "--", ids[0] ?? "");
    expect(revoke.code).toBe(0);
    const again = await cli("sessions", "revoke", "--database", db, "--", ids[0] ?? "");
    expect(again.code).toBe(1);
    const dash = await cli("sessions", "revoke", "--database", db, "--", "-not-a-flag");
    expect(dash.code).toBe(1);
    expect(dash.err).toContain("no session -not-a-flag");
  });

  it("prints a user agent's tabs and control characters as escapes: the columns hold, the terminal is not driven", async () => {
    const store = sqliteStore({ path: db });
    const manager = createSessionManager({ strategy: "id", store, cleanup: false });
    await manager.create({ userId: "cli-ua", userAgent: "evil\tcolumn\u009b31m\u001b[2Jend" });
    manager.close();
    await store.close();
    const list = await cli("sessions", "list", "--user", "cli-ua", "--database", db);
    expect(list.code).toBe(0);
    const row = list.out.split("\n")[1] ?? "";
    expect(row.split("\t")).toHaveLength(7);
    expect(row.endsWith("evil\\u0009column\\u009b31m\\u001b[2Jend")).toBe(true);
    for (const field of row.split("\t")) expect(field).not.toMatch(/\p{Cc}/u);
    const json = await cli("sessions", "list", "--user", "cli-ua", "--database", db, "--json");
    expect(json.out).not.toMatch(/[\u007f-\u009f]/);
    expect(JSON.parse(json.out)[0].userAgent).toBe("evil\tcolumn\u009b31m\u001b[2Jend");
  });

  it("revokes every session of a user", async () => {
    await seedSessions("cli-user-2", 3);
    const r = await cli("sessions", "revoke", "--user", "cli-user-2", "--database", db);
    expect(r.out).toBe("revoked 3 session(s) of user cli-user-2");
    // No user table here and no live sessions left: nothing says cli-user-2 ever existed.
    const list = await cli("sessions", "list", "--user", "cli-user-2", "--database", db, "--json");
    expect(list.code).toBe(1);
    expect(list.out).toBe("");
    expect(list.err).toMatch(/^sessionkit: unknown user "cli-user-2"/);
  });

  it("runs as a real binary: usage error exits 2, help exits 0", () => {
    const bad = spawnSync(process.execPath, [CLI, "nonsense"], { encoding: "utf8" });
    expect(bad.status).toBe(2);
    expect(bad.stderr.trim().split("\n")).toHaveLength(1);
    const help = spawnSync(process.execPath, [CLI, "help"], { encoding: "utf8" });
    expect(help.status).toBe(0);
    expect(help.stdout).toContain("sessionkit <command>");
  });

  it("stops the server at start with a one-line reason for an invalid value", () => {
    const r = spawnSync(process.execPath, [CLI, "serve", "--port", "99999"], {
      encoding: "utf8",
      cwd: dir,
    });
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toBe('sessionkit: --port: "99999" is not a port number');
    const env = spawnSync(process.execPath, [CLI, "serve"], {
      encoding: "utf8",
      cwd: dir,
      env: { ...process.env, SESSIONKIT_IDLE: "forever" },
    });
    expect(env.status).toBe(2);
    expect(env.stderr.trim()).toBe(
      'sessionkit: --idle: "forever" is not a duration such as 30m or 10s',
    );
  });

  it("--id-cache: 1 s by default or --max-lag if shorter, off or 0 to turn it off, bounded by --max-lag", () => {
    const cache = (flags: Record<string, string>, env: Record<string, string> = {}) =>
      resolveServerConfig(flags, env).idCache;
    expect(cache({})).toBe(1000);
    expect(cache({ "max-lag": "500ms" })).toBe(500);
    expect(cache({ "id-cache": "OFF" })).toBe(0);
    expect(cache({ "id-cache": "0" })).toBe(0);
    expect(cache({}, { SESSIONKIT_ID_CACHE: "2s" })).toBe(2000);
    expect(() => cache({ "id-cache": "banana" })).toThrow(/"banana" is not a duration .* nor off/);
    expect(() => cache({ "id-cache": "6s" })).toThrow(
      "6000 ms is more than --max-lag (5000 ms) or 1m",
    );
  });

  it("keeps sessions with users in PostgreSQL unless --store says otherwise; sqlite needs a file", () => {
    const pg = "postgres://u@db.example/app";
    expect(resolveServerConfig({ database: pg }, {}).store).toBe(pg);
    expect(resolveServerConfig({ database: pg, store: "redis://r:6379" }, {}).store).toBe(
      "redis://r:6379",
    );
    expect(resolveServerConfig({}, {}).store).toBe("sqlite");
    expect(() => resolveServerConfig({ database: pg, store: "sqlite" }, {})).toThrow(
      "--store sqlite keeps sessions in the --database file: name a file there",
    );
  });
});

describe("sessionkit keys and jwt", () => {
  it("keys generate prints a key file the server and the codec accept, for each algorithm", async () => {
    const { loadKeySet } = await import("../../src/tokens/index.js");
    for (const alg of ["HS256", "EdDSA", "ES256", "RS256"]) {
      const r = await cli("keys", "generate", "--alg", alg, "--kid", `k-${alg}`);
      expect(r.code, alg).toBe(0);
      const set = loadKeySet(JSON.parse(r.out), { requirePrivate: true });
      expect(set.keys[0]).toMatchObject({ alg, kid: `k-${alg}`, use: "sig" });
    }
    expect((await cli("keys", "generate", "--alg", "none")).code).toBe(2);
  });

  it("keys generate takes every algorithm of the codec's table, and help lists them all", async () => {
    const { JWS_ALGORITHMS, loadKeySet } = await import("../../src/tokens/index.js");
    const help = await cli("help");
    expect(help.out).toContain(`keys generate [--alg ${JWS_ALGORITHMS.join("|")}]`);
    for (const alg of ["ES384", "ES512"]) {
      expect(JWS_ALGORITHMS).toContain(alg);
      const r = await cli("keys", "generate", "--alg", alg, "--kid", `k-${alg}`);
      expect(r.code, alg).toBe(0);
      const set = loadKeySet(JSON.parse(r.out), { requirePrivate: true });
      expect(set.keys[0]).toMatchObject({
        alg,
        crv: alg === "ES384" ? "P-384" : "P-521",
        kid: `k-${alg}`,
      });
    }
    const wrong = await cli("keys", "generate", "--alg", "ES521");
    expect(wrong.code).toBe(2);
    expect(wrong.err).toBe(`sessionkit: --alg: "ES521" is not one of ${JWS_ALGORITHMS.join(", ")}`);
  });

  it("keys rotate puts a new signing key first and keeps the old one; keys jwks shows public parts only", async () => {
    const { writeFileSync, readFileSync } = await import("node:fs");
    const file = join(dir, "rotate.json");
    writeFileSync(file, (await cli("keys", "generate", "--alg", "EdDSA", "--kid", "old")).out);
    const rotated = await cli("keys", "rotate", "--keys", file, "--kid", "new");
    expect(rotated.code).toBe(0);
    const set = JSON.parse(readFileSync(file, "utf8")) as {
      keys: Array<{ kid: string; d?: string }>;
    };
    expect(set.keys.map((k) => k.kid)).toEqual(["new", "old"]);
    const jwks = JSON.parse((await cli("keys", "jwks", "--keys", file)).out) as {
      keys: Array<Record<string, unknown>>;
    };
    expect(jwks.keys.map((k) => k.kid)).toEqual(["new", "old"]);
    expect(jwks.keys.every((k) => k.d === undefined && k.kty === "OKP")).toBe(true);
  });

  it("jwt decode says nothing was verified; jwt verify exits 0 when valid and 1 with the reason", async () => {
    const { writeFileSync } = await import("node:fs");
    const { createJwtSigner, generateKeySet, publicKeySet } = await import(
      "../../src/tokens/index.js"
    );
    const set = generateKeySet("ES256", "es");
    const jwksFile = join(dir, "jwks.json");
    writeFileSync(jwksFile, JSON.stringify(publicKeySet(set)));
    const exp = Math.floor(Date.now() / 1000) + 60;
    const token = createJwtSigner(set).sign({
      iss: "https://a.example",
      aud: "app",
      sub: "u",
      exp,
    });
    const decoded = await cli("jwt", "decode", token);
    expect(decoded.code).toBe(0);
    expect(decoded.err).toMatch(/NOT VERIFIED/);
    expect(JSON.parse(decoded.out).claims.sub).toBe("u");
    const ok = await cli(
      "jwt",
      "verify",
      token,
      "--jwks",
      jwksFile,
      "--iss",
      "https://a.example",
      "--aud",
      "app",
    );
    expect(ok.code).toBe(0);
    expect(ok.err.split("\n")[0]).toBe(
      "valid: signature (ES256, key es), exp and nbf checked; issuer and audience checked",
    );
    expect(ok.err).toContain("not checked: whether the session is live");
    expect(JSON.parse(ok.out).claims).toMatchObject({ sub: "u", aud: "app" });
    const wrongAud = await cli("jwt", "verify", token, "--jwks", jwksFile, "--aud", "other");
    expect(wrongAud.code).toBe(1);
    expect(wrongAud.err).toBe("sessionkit: invalid: bad_audience");
    const forged = await cli("jwt", "verify", `${token.slice(0, -4)}AAAA`, "--jwks", jwksFile);
    expect(forged.code).toBe(1);
    expect(forged.err).toMatch(/invalid: (bad_signature|malformed)/);
    expect((await cli("jwt", "verify", token)).code).toBe(2);
  });
});

describe("sessionkit jwt verify against a JWKS URL", () => {
  it("fetches the key set over HTTP and verifies with it", async () => {
    const { createServer } = await import("node:http");
    const { createJwtSigner, generateKeySet, publicKeySet } = await import(
      "../../src/tokens/index.js"
    );
    const set = generateKeySet("EdDSA", "remote");
    const server = createServer((_req, res) => {
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify(publicKeySet(set)));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const { port } = server.address() as { port: number };
      const url = `http://127.0.0.1:${port}/.well-known/jwks.json`;
      const token = createJwtSigner(set).sign({
        iss: "i",
        aud: "a",
        exp: Math.floor(Date.now() / 1000) + 60,
      });
      expect((await cli("jwt", "verify", token, "--jwks", url, "--iss", "i")).code).toBe(0);
      const other = createJwtSigner(generateKeySet("EdDSA", "remote")).sign({
        iss: "i",
        aud: "a",
        exp: 9_999_999_999,
      });
      const refused = await cli("jwt", "verify", other, "--jwks", url);
      expect(refused.code).toBe(1);
      expect(refused.err).toBe("sessionkit: invalid: bad_signature");
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
