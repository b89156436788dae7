import { sign as cryptoSign, generateKeyPairSync } from "node:crypto";
import * as jose from "jose";
import { describe, expect, it } from "vitest";
import { isSessionError } from "../../src/errors.js";
import {
  createJwtSigner,
  createJwtVerifier,
  generateKeySet,
  type ImportedKey,
  importKeySet,
  type Jwk,
  type JwkSet,
  publicKeySet,
} from "../../src/tokens/index.js";
import { verifyJwsSignatureWithPublicKey } from "../../src/tokens/jws.js";

// ES384 (P-384, SHA-384) and ES512 (P-521, SHA-512), with jose as the oracle: each refusal
// below is one jose makes too, and each acceptance one jose agrees with.
const ISS = "https://app.example";
const AUD = "app";
const now = () => Math.floor(Date.now() / 1000);
const claims = () => ({ iss: ISS, aud: AUD, sub: "u1", iat: now(), exp: now() + 300 });
const CURVES = { ES384: { crv: "P-384", bytes: 96 }, ES512: { crv: "P-521", bytes: 132 } };
const ALGS = ["ES384", "ES512"] as const;

const verifierOf = (set: JwkSet) =>
  createJwtVerifier(publicKeySet(set), { issuer: ISS, audience: AUD });
const reason = (set: JwkSet, token: string) => {
  const result = verifierOf(set).verify(token);
  return result.ok ? "ok" : result.reason;
};
const publicKeyOf = (set: JwkSet) => (importKeySet(publicKeySet(set))[0] as ImportedKey).publicKey;
const joseKey = (set: JwkSet) => {
  const [pub] = publicKeySet(set).keys;
  return jose.importJWK(pub as jose.JWK, pub?.alg);
};
/** The token with its signature bytes replaced. */
const withSignature = (token: string, bytes: Buffer) =>
  `${token.slice(0, token.lastIndexOf("."))}.${bytes.toString("base64url")}`;
const signatureOf = (token: string) =>
  Buffer.from(token.slice(token.lastIndexOf(".") + 1), "base64url");
const loadError = (jwk: Jwk) => {
  try {
    importKeySet({ keys: [jwk] });
    return "accepted";
  } catch (error) {
    return isSessionError(error, "CONFIG_INVALID") ? (error as Error).message : String(error);
  }
};

describe("ES384 and ES512", () => {
  for (const alg of ALGS) {
    const { crv, bytes } = CURVES[alg];

    it(`${alg}: keys are ${crv}, signatures raw R‖S of ${bytes} bytes, both ways with jose`, async () => {
      const set = generateKeySet(alg, `k-${alg}`);
      expect(set.keys[0]).toMatchObject({ kty: "EC", crv, alg, use: "sig" });
      const ours = createJwtSigner(set).sign(claims());
      expect(signatureOf(ours)).toHaveLength(bytes);
      const checked = await jose.jwtVerify(ours, await joseKey(set), {
        issuer: ISS,
        audience: AUD,
        algorithms: [alg],
      });
      expect(checked.payload.sub).toBe("u1");
      const signingKey = await jose.importJWK(set.keys[0] as jose.JWK, alg);
      const theirs = await new jose.SignJWT(claims())
        .setProtectedHeader({ alg, kid: `k-${alg}`, typ: "JWT" })
        .sign(signingKey);
      expect(signatureOf(theirs)).toHaveLength(bytes);
      expect(verifierOf(set).verify(theirs)).toMatchObject({ ok: true, claims: { sub: "u1" } });
    });

    it(`${alg}: a signature one byte short or long, or left-padded, is refused`, async () => {
      const set = generateKeySet(alg, "k");
      const token = createJwtSigner(set).sign(claims());
      const signature = signatureOf(token);
      for (const wrong of [
        signature.subarray(0, bytes - 1),
        Buffer.concat([signature, Buffer.from([0])]),
        Buffer.concat([Buffer.from([0]), signature]),
        Buffer.alloc(0),
      ]) {
        const forged = withSignature(token, wrong);
        expect(reason(set, forged), `${wrong.length} bytes`).toBe("bad_signature");
        await expect(jose.compactVerify(forged, await joseKey(set))).rejects.toThrow();
      }
    });

    it(`${alg}: the same signature DER-encoded is refused, not converted`, async () => {
      const set = generateKeySet(alg, "k");
      const token = createJwtSigner(set).sign(claims());
      const [key] = importKeySet(set) as [ImportedKey];
      if (!key.privateKey) throw new Error("no private key");
      const input = Buffer.from(token.slice(0, token.lastIndexOf(".")));
      const hash = alg === "ES384" ? "sha384" : "sha512";
      const der = cryptoSign(hash, input, { key: key.privateKey, dsaEncoding: "der" });
      expect(der[0]).toBe(0x30); // an ASN.1 SEQUENCE: a valid signature, in the wrong form
      const forged = withSignature(token, der);
      expect(reason(set, forged)).toBe("bad_signature");
      await expect(jose.compactVerify(forged, await joseKey(set))).rejects.toThrow();
    });
  }

  it("an ES384 token is refused by an ES256 or ES512 key under the same kid", async () => {
    const es384 = generateKeySet("ES384", "k");
    const token = createJwtSigner(es384).sign(claims());
    expect(reason(es384, token)).toBe("ok");
    for (const other of ["ES256", "ES512"] as const) {
      const set = generateKeySet(other, "k");
      expect(reason(set, token), other).toBe("alg_mismatch");
      await expect(jose.jwtVerify(token, await joseKey(set)), other).rejects.toThrow();
      // Relabelled as the key's algorithm, the ES384 signature still does not verify.
      const header = Buffer.from(JSON.stringify({ alg: other, kid: "k", typ: "JWT" }));
      const [, payload, signature] = token.split(".");
      const relabelled = `${header.toString("base64url")}.${payload}.${signature}`;
      expect(reason(set, relabelled), other).toBe("bad_signature");
      await expect(jose.compactVerify(relabelled, await joseKey(set)), other).rejects.toThrow();
    }
  });

  it("a key whose curve is not its alg's is refused at load, and a wrong-curve public key never verifies", () => {
    const jwkOf = (namedCurve: string, alg: string): Jwk => ({
      ...(generateKeyPairSync("ec", { namedCurve }).privateKey.export({ format: "jwk" }) as Jwk),
      kid: "k",
      alg,
    });
    expect(loadError(jwkOf("P-384", "ES512"))).toMatch(/alg ES512 needs crv P-521/);
    expect(loadError(jwkOf("P-521", "ES384"))).toMatch(/alg ES384 needs crv P-384/);
    expect(loadError(jwkOf("P-256", "ES384"))).toMatch(/alg ES384 needs crv P-384/);
    expect(loadError(jwkOf("P-521", "ES256"))).toMatch(/alg ES256 needs crv P-256/);
    expect(loadError(jwkOf("P-521", "ES512"))).toBe("accepted");

    const es384 = generateKeySet("ES384", "a");
    const es512 = generateKeySet("ES512", "b");
    const token384 = createJwtSigner(es384).sign(claims());
    const token512 = createJwtSigner(es512).sign(claims());
    const p384 = publicKeyOf(es384);
    const p521 = publicKeyOf(es512);
    if (!p384 || !p521) throw new Error("no public key");
    expect(verifyJwsSignatureWithPublicKey(token384, "ES384", p384)).toBe(true);
    expect(verifyJwsSignatureWithPublicKey(token512, "ES512", p521)).toBe(true);
    expect(verifyJwsSignatureWithPublicKey(token384, "ES384", p521)).toBe(false);
    expect(verifyJwsSignatureWithPublicKey(token384, "ES512", p521)).toBe(false);
    expect(verifyJwsSignatureWithPublicKey(token512, "ES512", p384)).toBe(false);
    expect(verifyJwsSignatureWithPublicKey(token512, "ES384", p384)).toBe(false);
  });

  it("alg none is refused whatever the key's curve and whatever follows", async () => {
    for (const alg of ALGS) {
      const set = generateKeySet(alg, "k");
      const token = createJwtSigner(set).sign(claims());
      const [, payload, signature] = token.split(".");
      for (const spelling of ["none", "NONE"]) {
        const head = Buffer.from(JSON.stringify({ alg: spelling, kid: "k", typ: "JWT" }));
        for (const tail of ["", signature]) {
          const forged = `${head.toString("base64url")}.${payload}.${tail}`;
          expect(reason(set, forged), `${alg} ${spelling}`).toBe("alg_none");
          await expect(jose.jwtVerify(forged, await joseKey(set))).rejects.toThrow();
        }
      }
    }
  });
});
