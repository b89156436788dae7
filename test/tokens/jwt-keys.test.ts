import { generateKeyPairSync } from "node:crypto";
import { describe, expect, it } from "vitest";
import { isSessionError } from "../../src/errors.js";
import {
  generateKeySet,
  type Jwk,
  loadKeySet,
  publicKeySet,
  rotateKeySet,
} from "../../src/tokens/index.js";

const refuses = (keys: unknown, options?: { requirePrivate?: boolean }) => {
  try {
    loadKeySet(keys, options);
  } catch (error) {
    return isSessionError(error, "CONFIG_INVALID")
      ? (error as Error).message
      : `other: ${String(error)}`;
  }
  return "accepted";
};

describe("key sets are refused at load when weak or inconsistent", () => {
  it("refuses RSA keys under 2048 bits", () => {
    const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 1024 });
    const jwk = { ...(privateKey.export({ format: "jwk" }) as Jwk), kid: "small", alg: "RS256" };
    expect(refuses({ keys: [jwk] })).toMatch(/1024 bits; at least 2048/);
  });

  it("refuses a key whose alg disagrees with its kty or curve", () => {
    const ec = generateKeySet("ES256", "ec").keys[0] as Jwk;
    const ed = generateKeySet("EdDSA", "ed").keys[0] as Jwk;
    expect(refuses({ keys: [{ ...ec, alg: "EdDSA" }] })).toMatch(/needs kty OKP/);
    expect(refuses({ keys: [{ ...ed, alg: "ES256" }] })).toMatch(/needs kty EC/);
    expect(refuses({ keys: [{ ...ec, alg: "RS256" }] })).toMatch(/needs kty RSA/);
    const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-384" });
    const p384 = { ...(privateKey.export({ format: "jwk" }) as Jwk), kid: "p384", alg: "ES256" };
    expect(refuses({ keys: [p384] })).toMatch(/needs crv P-256/);
  });

  it("refuses empty and short HMAC secrets, and public keys where signing is needed", () => {
    expect(refuses({ keys: [{ kty: "oct", kid: "e", alg: "HS256", k: "" }] })).toMatch(
      /at least 256 bits/,
    );
    expect(
      refuses({
        keys: [{ kty: "oct", kid: "s", alg: "HS512", k: Buffer.alloc(32).toString("base64url") }],
      }),
    ).toMatch(/at least 512 bits/);
    const pub = publicKeySet(generateKeySet("EdDSA", "p"));
    expect(refuses(pub)).toBe("accepted");
    expect(refuses(pub, { requirePrivate: true })).toMatch(/public only/);
  });

  it("rotation keeps at most three keys, the newest first, and JWKS never carries private parts", () => {
    let set = generateKeySet("ES256", "k0");
    for (let i = 1; i <= 4; i++) set = rotateKeySet(set, { kid: `k${i}` });
    expect(set.keys.map((k) => k.kid)).toEqual(["k4", "k3", "k2"]);
    const jwks = publicKeySet(set);
    expect(jwks.keys.every((k) => k.d === undefined && k.kty === "EC")).toBe(true);
    expect(publicKeySet(generateKeySet("HS256")).keys).toEqual([]);
  });
});
