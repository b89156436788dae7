import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createJwtSigner, generateKeySet, publicKeySet } from "../../src/tokens/index.js";
import { CLI } from "../helpers/server.js";
import { tempDir } from "../helpers/tmp.js";

// jwt verify and keys jwks on the built binary, as a newcomer meets them: an HS256 key set
// (the default) has an empty public JWKS, which must be said, never verified against quietly.
const dir = tempDir();

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8" });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function keyFiles(alg: "HS256" | "ES256") {
  const set = generateKeySet(alg, `k-${alg}`);
  const keys = join(dir, `${alg}.keys.json`);
  writeFileSync(keys, JSON.stringify(set));
  const jwks = join(dir, `${alg}.jwks.json`);
  writeFileSync(jwks, JSON.stringify(publicKeySet(set)));
  const token = createJwtSigner(set).sign({
    iss: "https://a.example",
    aud: "app",
    sub: "u-1",
    exp: Math.floor(Date.now() / 1000) + 600,
  });
  return { keys, jwks, token };
}

describe("sessionkit jwt verify", () => {
  it("prints valid and the claims, and says which of issuer and audience went unchecked", () => {
    const { jwks, token } = keyFiles("ES256");
    const open = cli("jwt", "verify", token, "--jwks", jwks);
    expect(open.code).toBe(0);
    expect(open.err).toMatch(/^valid: signature \(ES256, key k-ES256\), exp and nbf checked/);
    expect(open.err).toContain("any issuer (no --iss) and any audience (no --aud) accepted");
    const printed = JSON.parse(open.out) as { claims: Record<string, unknown> };
    expect(printed.claims).toMatchObject({ sub: "u-1", aud: "app" });
    const strict = cli("jwt", "verify", token, "--jwks", jwks, "--iss", "https://a.example");
    expect(strict.err).toContain("any audience (no --aud) accepted");
    expect(strict.err).not.toContain("any issuer");
  });

  it("exits 1 with a hint to use the key file when the JWKS is empty (an HS256 key set)", () => {
    const { keys, jwks, token } = keyFiles("HS256");
    const r = cli("jwt", "verify", token, "--jwks", jwks);
    expect(r.code).toBe(1);
    expect(r.out).toBe("");
    expect(r.err).toBe(
      `sessionkit: ${jwks} has no keys: nothing can verify with it\n` +
        "hint: a key set of HS* (shared-secret) keys publishes an empty JWKS; verify with the key file itself: --keys FILE\n",
    );
    const withKeys = cli("jwt", "verify", token, "--keys", keys, "--aud", "app");
    expect(withKeys.code).toBe(0);
    expect(withKeys.err).toMatch(/^valid: signature \(HS256, key k-HS256\)/);
    expect(JSON.parse(withKeys.out).claims.sub).toBe("u-1");
  });

  it("hints at the key file when an HS256 token meets another JWKS", () => {
    const hs = keyFiles("HS256");
    const es = keyFiles("ES256");
    const r = cli("jwt", "verify", hs.token, "--jwks", es.jwks);
    expect(r.code).toBe(1);
    expect(r.err).toContain("sessionkit: invalid: unknown_kid\nhint:");
    expect(r.err).toContain("--keys FILE");
  });

  it("takes exactly one of --jwks and --keys", () => {
    const { keys, jwks, token } = keyFiles("ES256");
    for (const argv of [[], ["--jwks", jwks, "--keys", keys]]) {
      const r = cli("jwt", "verify", token, ...argv);
      expect(r.code).toBe(2);
      expect(r.err).toBe(
        "sessionkit: jwt verify needs --jwks FILE|URL or --keys FILE (one of them)\n",
      );
    }
  });
});

describe("sessionkit keys jwks", () => {
  it("keeps stdout the JSON and says on stderr why an HS256-only set's JWKS is empty", () => {
    const { keys } = keyFiles("HS256");
    const r = cli("keys", "jwks", "--keys", keys);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toEqual({ keys: [] });
    expect(r.err).toMatch(/^note: .* holds only HS\* \(shared-secret\) keys/);
    expect(r.err).toContain(`jwt verify TOKEN --keys ${keys}`);
  });

  it("says nothing on stderr for an asymmetric set, and counts the secret keys of a mixed one", () => {
    const { keys } = keyFiles("ES256");
    const r = cli("keys", "jwks", "--keys", keys);
    expect(r.err).toBe("");
    expect(JSON.parse(r.out).keys).toHaveLength(1);
    const mixed = join(dir, "mixed.json");
    writeFileSync(
      mixed,
      JSON.stringify({
        keys: [...generateKeySet("EdDSA", "ed").keys, ...generateKeySet("HS256", "hs").keys],
      }),
    );
    const m = cli("keys", "jwks", "--keys", mixed);
    expect(JSON.parse(m.out).keys.map((k: { kid: string }) => k.kid)).toEqual(["ed"]);
    expect(m.err).toBe(`note: 1 HS* (shared-secret) key(s) of ${mixed} left out\n`);
  });
});
