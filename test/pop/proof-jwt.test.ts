import { createHmac, createPublicKey, generateKeyPairSync, sign } from "node:crypto";
import fc from "fast-check";
import * as jose from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { PROOF_ALGORITHMS, type ProofAlgorithm } from "../../src/pop/jwk.js";
import { type ProofJwtOptions, verifyProofJwt } from "../../src/pop/proof-jwt.js";
import {
  asPublicJwk,
  b64,
  type ClientKey,
  clientKey,
  forge,
  joseProof,
  signInput,
} from "./keys.js";

const OPTIONS: ProofJwtOptions = { typ: "dpop+jwt", algorithms: PROOF_ALGORITHMS };
const CLAIMS = { jti: "j-1", htm: "POST", htu: "https://app.example/token", iat: 1_900_000_000 };
const keys = {} as Record<ProofAlgorithm, ClientKey>;

beforeAll(async () => {
  for (const alg of PROOF_ALGORITHMS) keys[alg] = await clientKey(alg);
});

const code = (token: unknown, options: ProofJwtOptions = OPTIONS) => {
  const result = verifyProofJwt(token, options);
  return "code" in result ? result.code : "ok";
};
/** The header jose writes, as text, for hand-made variants. */
const headerOf = (key: ClientKey, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ alg: key.alg, typ: "dpop+jwt", jwk: key.publicJwk, ...extra });

describe("verifyProofJwt accepts what jose signs", () => {
  for (const alg of PROOF_ALGORITHMS) {
    it(`${alg}: the payload, the key's required members and its RFC 7638 thumbprint`, async () => {
      const key = keys[alg];
      const result = verifyProofJwt(await joseProof(key, CLAIMS), OPTIONS);
      if ("code" in result) throw new Error(`refused: ${result.code} ${result.detail}`);
      expect(result.payload).toEqual(CLAIMS);
      expect(result.header).toMatchObject({ alg, typ: "dpop+jwt" });
      expect(result.jwk).toEqual(key.publicJwk);
      expect(result.jkt).toBe(await jose.calculateJwkThumbprint(key.publicJwk, "sha256"));
    });
  }

  it("the hand-signing helper makes proofs that verify (so refusals below are the rule's)", () => {
    for (const alg of PROOF_ALGORITHMS) {
      expect(code(forge(headerOf(keys[alg]), JSON.stringify(CLAIMS), keys[alg])), alg).toBe("ok");
    }
  });

  it("a jwk that declares its own alg, when it is the proof's", async () => {
    const key = keys.PS256;
    const token = await joseProof(key, CLAIMS, { jwk: { ...key.publicJwk, alg: "PS256" } });
    expect(code(token)).toBe("ok");
  });
});

describe("verifyProofJwt refuses", () => {
  it("a header or payload changed after signing, and a flipped signature byte", async () => {
    const token = await joseProof(keys.ES256, CLAIMS);
    const [head, body, signature = ""] = token.split(".");
    const otherHeader = b64(headerOf(keys.ES256, { kid: "x" }));
    const otherBody = b64(JSON.stringify({ ...CLAIMS, htm: "GET" }));
    expect(code(`${otherHeader}.${body}.${signature}`)).toBe("bad_signature");
    expect(code(`${head}.${otherBody}.${signature}`)).toBe("bad_signature");
    const bytes = Buffer.from(signature, "base64url");
    bytes[10] = (bytes[10] ?? 0) ^ 1;
    expect(code(`${head}.${body}.${bytes.toString("base64url")}`)).toBe("bad_signature");
  });

  it("a proof signed by another key than the jwk it carries", async () => {
    const other = await clientKey("ES256");
    expect(code(forge(headerOf(keys.ES256), JSON.stringify(CLAIMS), other))).toBe("bad_signature");
  });

  it("alg none, with or without a signature, in any case", () => {
    for (const alg of ["none", "None", "NONE"]) {
      const unsigned = `${b64(headerOf(keys.ES256, { alg }))}.${b64(JSON.stringify(CLAIMS))}`;
      expect(code(`${unsigned}.`), alg).toBe("bad_alg");
      expect(code(`${unsigned}.${b64("sig")}`), alg).toBe("bad_alg");
    }
  });

  it("HS256 keyed with the public key's bytes, even when a caller lists HS256", () => {
    const key = keys.RS256;
    const input = `${b64(headerOf(key, { alg: "HS256" }))}.${b64(JSON.stringify(CLAIMS))}`;
    const publicPem = createPublicKey(key.nodePrivate).export({ type: "spki", format: "pem" });
    for (const secret of [publicPem, JSON.stringify(key.publicJwk)]) {
      const mac = createHmac("sha256", secret).update(input).digest("base64url");
      const loose = { ...OPTIONS, algorithms: ["HS256"] as unknown as ProofAlgorithm[] };
      expect(code(`${input}.${mac}`)).toBe("bad_alg");
      expect(code(`${input}.${mac}`, loose)).toBe("bad_alg");
    }
  });

  it("an algorithm the caller did not list", async () => {
    const token = await joseProof(keys.EdDSA, CLAIMS);
    expect(code(token, { ...OPTIONS, algorithms: ["ES256", "RS256"] })).toBe("bad_alg");
  });

  it("a jwk carrying any private member, validly signed by that very key", () => {
    for (const alg of ["ES256", "RS256", "EdDSA"] as const) {
      const key = keys[alg];
      const secrets = Object.keys(key.privateJwk).filter((m) => !(m in key.publicJwk));
      expect(secrets.length).toBeGreaterThan(0);
      for (const member of secrets) {
        const jwk = { ...key.publicJwk, [member]: key.privateJwk[member as keyof jose.JWK] };
        const token = forge(headerOf(key, { jwk }), JSON.stringify(CLAIMS), key);
        expect(code(token), `${alg} ${member}`).toBe("private_key");
      }
    }
    const ec = keys.ES256;
    for (const member of ["k", "oth", "p"]) {
      const jwk = { ...ec.publicJwk, [member]: "AQAB" };
      expect(code(forge(headerOf(ec, { jwk }), JSON.stringify(CLAIMS), ec))).toBe("private_key");
    }
  });

  it("a symmetric jwk", () => {
    const jwk = { kty: "oct", k: b64("0123456789abcdef0123456789abcdef") };
    const token = forge(headerOf(keys.ES256, { jwk }), JSON.stringify(CLAIMS), keys.ES256);
    expect(code(token)).toBe("private_key");
  });

  it("a key whose type or curve is not the alg's, or whose own alg differs", () => {
    const claims = JSON.stringify(CLAIMS);
    const es = keys.ES256;
    const cases: [ClientKey, ProofAlgorithm][] = [
      [keys.RS256, "ES256"],
      [keys.ES384, "ES256"],
      [keys.ES256, "ES384"],
      [keys.ES256, "EdDSA"],
      [keys.EdDSA, "RS256"],
    ];
    for (const [key, alg] of cases) {
      const token = forge(headerOf(key, { alg }), claims, key);
      expect(code(token), `${alg} with ${key.alg}'s key`).toBe("alg_mismatch");
    }
    const rs = keys.RS256;
    const ps = forge(
      headerOf(rs, { alg: "PS256", jwk: { ...rs.publicJwk, alg: "RS256" } }),
      claims,
      {
        ...rs,
        alg: "PS256",
      },
    );
    expect(code(ps)).toBe("alg_mismatch");
    expect(code(forge(headerOf(es, { jwk: { ...es.publicJwk, alg: "ES256" } }), claims, es))).toBe(
      "ok",
    );
  });

  it("any typ but the exact one asked for", async () => {
    for (const typ of ["JWT", "DPoP+JWT", "application/dpop+jwt", "dpop+jwt ", "dbsc+jwt"]) {
      expect(code(await joseProof(keys.ES256, CLAIMS, {}, typ)), typ).toBe("bad_typ");
    }
    const untyped = forge(
      headerOf(keys.ES256, { typ: undefined }),
      JSON.stringify(CLAIMS),
      keys.ES256,
    );
    expect(code(untyped)).toBe("bad_typ");
    const dbsc = await joseProof(keys.ES256, CLAIMS, {}, "dbsc+jwt");
    expect(code(dbsc, { ...OPTIONS, typ: "dbsc+jwt" })).toBe("ok");
  });

  it("repeated member names in the header or the payload, validly signed", () => {
    const key = keys.ES256;
    const header = headerOf(key);
    const claims = JSON.stringify(CLAIMS);
    const twoAlgs = `${header.slice(0, -1)},"alg":"ES256"}`;
    const twoHtus = `${claims.slice(0, -1)},"htu":"https://evil.example/token"}`;
    const escaped = `${claims.slice(0, -1)},"\\u0068tm":"GET"}`;
    expect(code(forge(twoAlgs, claims, key))).toBe("malformed");
    expect(code(forge(header, twoHtus, key))).toBe("malformed");
    expect(code(forge(header, escaped, key))).toBe("malformed");
  });

  it("a payload that is not a JSON object", () => {
    for (const payload of ["[]", '"text"', "42", "null", "{", ""]) {
      expect(code(forge(headerOf(keys.ES256), payload, keys.ES256)), payload).toBe("malformed");
    }
  });

  it("more than the size bound, before decoding anything", async () => {
    const token = await joseProof(keys.ES256, { ...CLAIMS, pad: "x".repeat(9000) });
    expect(code(token)).toBe("too_large");
    expect(code(token, { ...OPTIONS, maxBytes: 16_384 })).toBe("ok");
    const small = await joseProof(keys.ES256, CLAIMS);
    expect(code(small, { ...OPTIONS, maxBytes: small.length - 1 })).toBe("too_large");
  });

  it("a crit header, a missing jwk, and keys that are not keys", () => {
    const key = keys.ES256;
    const claims = JSON.stringify(CLAIMS);
    const jwk = key.publicJwk as { x: string; y: string };
    const short = b64("x".repeat(31));
    const offCurve = Buffer.from(jwk.y, "base64url");
    offCurve[31] = (offCurve[31] ?? 0) ^ 1;
    const cases: [Record<string, unknown>, string][] = [
      [{ crit: ["exp"], exp: 1 }, "bad_header"],
      [{ jwk: undefined }, "bad_jwk"],
      [{ jwk: "key" }, "bad_jwk"],
      [{ jwk: null }, "bad_jwk"],
      [{ jwk: [] }, "bad_jwk"],
      [{ jwk: { ...jwk, kty: "EC", crv: "P-256", x: short } }, "bad_jwk"],
      [{ jwk: { ...jwk, kty: "EC", crv: "P-256", x: `${jwk.x}=` } }, "bad_jwk"],
      [{ jwk: { ...jwk, kty: "EC", crv: "P-256", y: offCurve.toString("base64url") } }, "bad_jwk"],
      [{ jwk: { ...jwk, kty: "EC", crv: "secp256k1" } }, "bad_jwk"],
      [{ jwk: { kty: "OKP", crv: "Ed448", x: b64("x".repeat(57)) } }, "bad_jwk"],
      [{ jwk: { kty: "XYZ" } }, "bad_jwk"],
    ];
    for (const [extra, expected] of cases) {
      expect(code(forge(headerOf(key, extra), claims, key)), JSON.stringify(extra)).toBe(expected);
    }
  });

  it("RSA keys too small, too large, with non-minimal integers or a bad exponent", () => {
    const rs = keys.RS256;
    const claims = JSON.stringify(CLAIMS);
    const { n } = rs.publicJwk as { n: string };
    const small = generateKeyPairSync("rsa", { modulusLength: 1024 }).publicKey.export({
      format: "jwk",
    });
    const huge = { kty: "RSA", n: b64("\u00ff".repeat(1100)), e: "AQAB" };
    const padded = Buffer.concat([Buffer.alloc(1), Buffer.from(n, "base64url")]);
    for (const jwk of [
      small,
      huge,
      { kty: "RSA", n: padded.toString("base64url"), e: "AQAB" },
      { kty: "RSA", n, e: "AAEAAQ" },
      { kty: "RSA", n, e: "AQ" },
      { kty: "RSA", n, e: "Ag" },
      { kty: "RSA", n, e: b64("\u0001".repeat(9)) },
    ]) {
      expect(code(forge(headerOf(rs, { jwk }), claims, rs)), JSON.stringify(jwk.e)).toBe("bad_jwk");
    }
  });

  it("anything that is not three canonical base64url parts", async () => {
    const token = await joseProof(keys.ES256, CLAIMS);
    const [head, body, signature] = token.split(".");
    for (const bad of [
      undefined,
      null,
      42,
      {},
      "",
      "a.b",
      `${token}.x.y`,
      `${head}.${body}`,
      `${head}=.${body}.${signature}`,
      `${head}.${body}.${signature}=`,
      ` ${token}`,
      `${head}.${body}.${signature}\n`,
      `${head}.${body}.${(signature ?? "").replace(/-/g, "+")}${"/"}`,
    ]) {
      expect(code(bad), String(bad)).toBe("malformed");
    }
  });

  it("a DER-encoded ECDSA signature of the right input", () => {
    const key = keys.ES256;
    const input = `${b64(headerOf(key))}.${b64(JSON.stringify(CLAIMS))}`;
    const der = sign("sha256", Buffer.from(input), key.nodePrivate).toString("base64url");
    expect(code(`${input}.${der}`)).toBe("bad_signature");
    expect(code(`${input}.${signInput(input, key)}`)).toBe("ok");
  });
});

describe("verifyProofJwt with a registered key", () => {
  it("checks the signature with it, with or without the same jwk in the header", async () => {
    const key = keys.ES256;
    const registered = asPublicJwk(key.publicJwk);
    const bare = forge(
      JSON.stringify({ alg: "ES256", typ: "dpop+jwt" }),
      JSON.stringify(CLAIMS),
      key,
    );
    const withJwk = await joseProof(key, CLAIMS);
    for (const token of [bare, withJwk]) {
      const result = verifyProofJwt(token, { ...OPTIONS, key: registered });
      expect(result).toMatchObject({ jkt: await jose.calculateJwkThumbprint(key.publicJwk) });
    }
  });

  it("refuses a proof by another key, whether it carries that key or none", async () => {
    const registered = asPublicJwk(keys.ES256.publicJwk);
    const other = await clientKey("ES256");
    const options = { ...OPTIONS, key: registered };
    expect(code(await joseProof(other, CLAIMS), options)).toBe("key_mismatch");
    const bare = forge(
      JSON.stringify({ alg: "ES256", typ: "dpop+jwt" }),
      JSON.stringify(CLAIMS),
      other,
    );
    expect(code(bare, options)).toBe("bad_signature");
  });

  it("refuses an alg that does not fit the registered key, and a registered key that is no key", async () => {
    const options = { ...OPTIONS, key: asPublicJwk(keys.ES256.publicJwk) };
    const rs = forge(
      JSON.stringify({ alg: "RS256", typ: "dpop+jwt" }),
      JSON.stringify(CLAIMS),
      keys.RS256,
    );
    expect(code(rs, options)).toBe("alg_mismatch");
    const broken = { ...OPTIONS, key: asPublicJwk({ kty: "EC", crv: "P-256", x: "AA", y: "AA" }) };
    expect(code(await joseProof(keys.ES256, CLAIMS), broken)).toBe("bad_jwk");
  });
});

describe("verifyProofJwt under random input", () => {
  it("never throws and never accepts random text or bytes", () => {
    const text = fc.oneof(
      fc.string({ maxLength: 300 }),
      fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes).toString("latin1")),
      fc
        .array(fc.base64String({ maxLength: 120 }), { minLength: 1, maxLength: 5 })
        .map((parts) => parts.join(".").replace(/\+/g, "-").replace(/\//g, "_").replace(/=/g, "")),
    );
    fc.assert(
      fc.property(text, (token) => {
        expect(code(token)).not.toBe("ok");
      }),
      { numRuns: 2000 },
    );
  });

  it("never throws and never accepts a mutation of a valid proof", async () => {
    const proofs = await Promise.all(PROOF_ALGORITHMS.map((alg) => joseProof(keys[alg], CLAIMS)));
    for (const proof of proofs) expect(code(proof)).toBe("ok");
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ ";
    const edit = fc.record({
      at: fc.nat(),
      kind: fc.constantFrom("replace", "insert", "delete", "truncate", "swap-segments"),
      char: fc.constantFrom(...alphabet),
    });
    fc.assert(
      fc.property(
        fc.constantFrom(...proofs),
        fc.array(edit, { minLength: 1, maxLength: 4 }),
        (proof, edits) => {
          let token = proof;
          for (const { at, kind, char } of edits) {
            const i = at % (token.length + 1);
            if (kind === "replace") token = token.slice(0, i) + char + token.slice(i + 1);
            else if (kind === "insert") token = token.slice(0, i) + char + token.slice(i);
            else if (kind === "delete") token = token.slice(0, i) + token.slice(i + 1);
            else if (kind === "truncate") token = token.slice(0, i);
            else token = token.split(".").reverse().join(".");
          }
          fc.pre(token !== proof);
          expect(code(token)).not.toBe("ok");
        },
      ),
      { numRuns: 3000 },
    );
  });
});
