import { createHmac, sign as cryptoSign, generateKeyPairSync } from "node:crypto";
import { CompactSign, compactVerify, importJWK } from "jose";
import { describe, expect, it } from "vitest";
import { createSessionManager } from "../../src/index.js";
import { memoryStore } from "../../src/stores/memory/index.js";
import {
  createJwtSigner,
  createJwtVerifier,
  generateKey,
  importKeySet,
  type Jwk,
  type JwkSet,
  publicKeySet,
  verifyJws,
} from "../../src/tokens/index.js";

// Issue 14 moved the algorithm table (algorithms.ts), the claim reads (claims.ts) and the key
// import (readKeySet) around the verifier. Attack the result: claims of the wrong type or of
// no finite value, algorithm confusion, DER and wrong-length ECDSA signatures, the new ES384
// and ES512 rows; jose is the oracle where a token must verify.
const NOW_S = Math.floor(Date.now() / 1000);
const enc = (text: string) => Buffer.from(text).toString("base64url");

/** A compact JWS of the payload text exactly as written (1e309 stays 1e309), signed by jose. */
async function joseSigned(jwk: Jwk, payloadText: string, header: Record<string, unknown> = {}) {
  const key = await importJWK(jwk as Parameters<typeof importJWK>[0], jwk.alg);
  return new CompactSign(new TextEncoder().encode(payloadText))
    .setProtectedHeader({ alg: jwk.alg as string, kid: jwk.kid, typ: "JWT", ...header })
    .sign(key);
}

const hs = generateKey("HS256", "hs");
const verifier = createJwtVerifier({ keys: [hs] }, { issuer: "iss", audience: "aud" });
const claimsText = (extra: string) =>
  `{"iss":"iss","aud":"aud","sub":"u","iat":${NOW_S},"exp":${NOW_S + 300}${extra}}`;
/** The claims with `name` replaced by the raw JSON text `value`. */
const withClaim = (name: string, value: string) => {
  const base: Record<string, string> = {
    iss: '"iss"',
    aud: '"aud"',
    sub: '"u"',
    iat: String(NOW_S),
    exp: String(NOW_S + 300),
  };
  base[name] = value;
  return `{${Object.entries(base)
    .map(([k, v]) => `"${k}":${v}`)
    .join(",")}}`;
};

const BAD_TIMES = [
  '"9999999999"',
  "[9999999999]",
  '{"value":9999999999}',
  "true",
  "false",
  "null",
  "1e309",
  "-1e309",
  "1e400",
  '"Infinity"',
  '""',
];

describe("time claims of the wrong type or of no finite value", () => {
  it("a well-formed token verifies (control), and jose agrees on its signature", async () => {
    const token = await joseSigned(hs, claimsText(""));
    expect(verifier.verify(token).ok).toBe(true);
    const key = await importJWK(hs as Parameters<typeof importJWK>[0], "HS256");
    await expect(compactVerify(token, key)).resolves.toBeTruthy();
  });

  for (const name of ["exp", "nbf", "iat"]) {
    it(`refuses ${name} as a string, array, object, boolean, null or ±Infinity (1e309, 1e400)`, async () => {
      for (const value of BAD_TIMES) {
        const result = verifier.verify(await joseSigned(hs, withClaim(name, value)));
        expect(result, `${name}: ${value}`).toEqual({ ok: false, reason: "bad_time_claim" });
      }
    });
  }

  it("an exp of 1e400 never makes a never-expiring token, with acceptExpired or the cache", async () => {
    const lenient = createJwtVerifier(
      { keys: [hs] },
      { issuer: "iss", audience: "aud", acceptExpired: true },
    );
    const token = await joseSigned(hs, withClaim("exp", "1e400"));
    expect(lenient.verify(token).ok).toBe(false);
  });

  it("a far but finite exp verifies, and one just past (with skew) does not", async () => {
    expect(verifier.verify(await joseSigned(hs, withClaim("exp", "1e300"))).ok).toBe(true);
    const past = verifier.verify(await joseSigned(hs, withClaim("exp", String(NOW_S - 31))));
    expect(past).toEqual({ ok: false, reason: "expired" });
  });

  it("an exp hidden under __proto__ is no exp at all", async () => {
    const text = `{"iss":"iss","aud":"aud","__proto__":{"exp":${NOW_S + 300}}}`;
    expect(verifier.verify(await joseSigned(hs, text))).toEqual({
      ok: false,
      reason: "missing_exp",
    });
  });
});

describe("the jwt strategy over claims its own key signed with the wrong types", () => {
  const keys: JwkSet = { keys: [generateKey("HS256", "k1")] };
  const key = keys.keys[0] as Jwk;
  const manager = createSessionManager({
    strategy: "jwt",
    store: memoryStore(),
    keys,
    issuer: "https://app.example",
    audience: "app",
    cleanup: false,
    csrf: { origins: ["https://app.example"] },
  });
  const bearer = (token: string) =>
    new Request("https://app.example/api", { headers: { authorization: `Bearer ${token}` } });

  /** The claims the manager signed, with `change` applied to their JSON text, re-signed. */
  async function tampered(change: (claims: Record<string, unknown>) => string) {
    const issued = await manager.create({ userId: "alice", transport: "header" });
    const payload = (issued.token ?? "").split(".")[1] ?? "";
    const claims = JSON.parse(Buffer.from(payload, "base64url").toString()) as Record<
      string,
      unknown
    >;
    return joseSigned(key, change(claims));
  }
  const replace = (claims: Record<string, unknown>, name: string, raw: string) => {
    const text = JSON.stringify({ ...claims, [name]: "__RAW__" });
    return text.replace('"__RAW__"', raw);
  };

  it("re-signed unchanged, the token authenticates (control)", async () => {
    const token = await tampered((c) => JSON.stringify(c));
    expect((await manager.authenticate(bearer(token))).session?.userId).toBe("alice");
  });

  // Regression: an `aexp` of 1e309 (Infinity to JSON.parse) was taken as a number, before and
  // after issue 14, giving a session whose absoluteExpiresAt is an invalid Date; numberClaim
  // now reads only finite numbers.
  for (const name of ["exp", "iat", "aexp", "sid", "sub"]) {
    it(`refuses ${name} of another type (string, array, object, boolean, null, ±Infinity)`, async () => {
      for (const raw of BAD_TIMES) {
        // A sid or sub that is a string is a name, not a type error.
        if ((name === "sid" || name === "sub") && raw.startsWith('"')) continue;
        const token = await tampered((c) => replace(c, name, raw));
        const result = await manager.authenticate(bearer(token));
        expect(result.session, `${name}: ${raw}`).toBeNull();
      }
    });
  }

  it("a cnf that is not an object of a jkt binds the token to no key, never to none", async () => {
    for (const raw of ["null", "[]", '"jkt"', "{}", '{"jkt":""}', '{"jkt":5}', '[{"jkt":"x"}]']) {
      const token = await tampered((c) => replace(c, "cnf", raw));
      expect((await manager.authenticate(bearer(token))).session, raw).toBeNull();
    }
  });
});

describe("algorithm confusion against the one algorithm table", () => {
  it("an HS256 token MACed with an RSA or EC public key (as its PEM, DER or JWK) is refused", () => {
    for (const alg of ["RS256", "PS256", "ES256", "ES384", "ES512", "EdDSA"] as const) {
      const jwk = generateKey(alg, "pub");
      const pub = publicKeySet({ keys: [jwk] });
      const keys = new Map(importKeySet(pub).map((k) => [k.kid, k]));
      const pubJwk = pub.keys[0] as Jwk;
      const { privateKey: _d, ...rest } = { privateKey: null, ...pubJwk };
      const secrets = [
        JSON.stringify(rest),
        pubJwk.x ?? pubJwk.n ?? "",
        Buffer.from(pubJwk.x ?? pubJwk.n ?? "", "base64url").toString("latin1"),
      ];
      for (const hmac of ["HS256", "HS384", "HS512", "hs256"]) {
        for (const secret of secrets) {
          const input = `${enc(JSON.stringify({ alg: hmac, kid: "pub" }))}.${enc('{"sub":"x"}')}`;
          const mac = createHmac(
            hmac.toLowerCase().replace("hs", "sha"),
            Buffer.from(secret, "latin1"),
          )
            .update(input)
            .digest("base64url");
          const result = verifyJws(`${input}.${mac}`, keys);
          expect(result, `${alg} as ${hmac}`).toEqual({ ok: false, reason: "alg_mismatch" });
        }
      }
    }
  });

  it("alg none in any case, and algs the table lacks, are refused", () => {
    const keys = new Map(
      importKeySet({ keys: [generateKey("HS256", "k")] }).map((k) => [k.kid, k]),
    );
    for (const alg of ["none", "None", "NONE", "nOnE"]) {
      const token = `${enc(JSON.stringify({ alg, kid: "k" }))}.${enc("{}")}.`;
      expect(verifyJws(token, keys)).toEqual({ ok: false, reason: "alg_none" });
    }
    for (const alg of ["__proto__", "constructor", "toString", "ES256K", "RS512", "Ed25519"]) {
      const token = `${enc(JSON.stringify({ alg, kid: "k" }))}.${enc("{}")}.AAAA`;
      expect(verifyJws(token, keys).ok, alg).toBe(false);
    }
  });

  it("a kid of another type, or an inherited property name, names no key", () => {
    const keys = new Map(
      importKeySet({ keys: [generateKey("HS256", "k")] }).map((k) => [k.kid, k]),
    );
    for (const kid of [
      5,
      ["k"],
      { k: 1 },
      null,
      true,
      "__proto__",
      "constructor",
      "hasOwnProperty",
    ]) {
      const token = `${enc(JSON.stringify({ alg: "HS256", kid }))}.${enc("{}")}.AAAA`;
      expect(verifyJws(token, keys), JSON.stringify(kid)).toEqual({
        ok: false,
        reason: "unknown_kid",
      });
    }
  });

  it("kid confusion between keys of different algorithms: each kid checks its own alg only", async () => {
    const es384 = generateKey("ES384", "a384");
    const es512 = generateKey("ES512", "a512");
    const es256 = generateKey("ES256", "a256");
    const set = importKeySet({ keys: [es512, es384, es256] });
    const keys = new Map(set.map((k) => [k.kid, k]));
    // An ES384 token naming the ES512 key, and the other way round: mismatch.
    const t384 = await joseSigned(es384, "{}", { kid: "a512" });
    expect(verifyJws(t384, keys)).toEqual({ ok: false, reason: "alg_mismatch" });
    const t512 = await joseSigned(es512, "{}", { kid: "a384" });
    expect(verifyJws(t512, keys)).toEqual({ ok: false, reason: "alg_mismatch" });
    // Header says ES512 and names the ES512 key, but a P-384 key signed: a bad signature.
    const forged = await joseSigned(es384, "{}", { kid: "a512", alg: "ES384" });
    const [, payload, sig] = forged.split(".");
    const relabelled = `${enc(JSON.stringify({ alg: "ES512", kid: "a512", typ: "JWT" }))}.${payload}.${sig}`;
    expect(verifyJws(relabelled, keys).ok).toBe(false);
    // An ES512 key set given an ES384 token by a key it does not hold.
    const only512 = new Map(importKeySet({ keys: [es512] }).map((k) => [k.kid, k]));
    expect(verifyJws(await joseSigned(es384, "{}"), only512)).toEqual({
      ok: false,
      reason: "unknown_kid",
    });
    // Each verifies under its own kid (control).
    for (const jwk of [es256, es384, es512]) {
      expect(verifyJws(await joseSigned(jwk, "{}"), keys).ok, jwk.alg).toBe(true);
    }
  });

  it("a key set refuses a key whose curve is not its alg's (ES512 on P-384, ES384 on P-256)", () => {
    const p384 = generateKey("ES384", "x");
    const p256 = generateKey("ES256", "y");
    expect(() => importKeySet({ keys: [{ ...p384, alg: "ES512" }] })).toThrow(/crv P-521/);
    expect(() => importKeySet({ keys: [{ ...p256, alg: "ES384" }] })).toThrow(/crv P-384/);
    expect(() => importKeySet({ keys: [{ ...p256, crv: "P-384", alg: "ES384" }] })).toThrow();
  });
});

describe("ECDSA signature encodings (ES256, ES384, ES512)", () => {
  const curves = {
    ES256: ["P-256", "sha256", 64],
    ES384: ["P-384", "sha384", 96],
    ES512: ["P-521", "sha512", 132],
  } as const;

  for (const [alg, [curve, hash, bytes]] of Object.entries(curves)) {
    it(`${alg}: raw R‖S of ${bytes} bytes only; DER, trimmed or padded signatures are refused`, async () => {
      const { privateKey } = generateKeyPairSync("ec", { namedCurve: curve });
      const jwk = { ...(privateKey.export({ format: "jwk" }) as Jwk), kid: "k", alg, use: "sig" };
      const keys = new Map(importKeySet({ keys: [jwk] }).map((k) => [k.kid, k]));
      const input = `${enc(JSON.stringify({ alg, kid: "k" }))}.${enc('{"sub":"x"}')}`;
      for (let i = 0; i < 8; i++) {
        const raw = cryptoSign(hash, Buffer.from(input), {
          key: privateKey,
          dsaEncoding: "ieee-p1363",
        });
        const der = cryptoSign(hash, Buffer.from(input), { key: privateKey, dsaEncoding: "der" });
        expect(raw.length).toBe(bytes);
        expect(verifyJws(`${input}.${raw.toString("base64url")}`, keys).ok).toBe(true);
        expect(verifyJws(`${input}.${der.toString("base64url")}`, keys).ok).toBe(false);
        // R and S without their leading byte (P-521's is 0 or 1), or one byte longer.
        const half = bytes / 2;
        const trimmed = Buffer.concat([raw.subarray(1, half), raw.subarray(half + 1)]);
        const padded = Buffer.concat([Buffer.alloc(1), raw]);
        const extra = Buffer.concat([raw, Buffer.alloc(1)]);
        for (const bad of [trimmed, padded, extra, raw.subarray(0, bytes - 1)]) {
          expect(verifyJws(`${input}.${bad.toString("base64url")}`, keys).ok).toBe(false);
        }
      }
    });
  }

  it("ES512 tokens round-trip with jose both ways (P-521's leading zero bytes included)", async () => {
    const jwk = generateKey("ES512", "k512");
    const signer = createJwtSigner({ keys: [jwk] });
    const pub = await importJWK(
      publicKeySet({ keys: [jwk] }).keys[0] as Parameters<typeof importJWK>[0],
      "ES512",
    );
    const v = createJwtVerifier({ keys: [jwk] }, { issuer: null, audience: null });
    for (let i = 0; i < 16; i++) {
      const ours = signer.sign({ sub: `u${i}`, exp: NOW_S + 60 });
      await expect(compactVerify(ours, pub)).resolves.toBeTruthy();
      const theirs = await joseSigned(jwk, JSON.stringify({ sub: `u${i}`, exp: NOW_S + 60 }));
      expect(v.verify(theirs).ok).toBe(true);
    }
  });
});
