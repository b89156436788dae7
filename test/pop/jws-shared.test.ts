import { createPublicKey } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  createJwtSigner,
  createJwtVerifier,
  generateKeySet,
  importKeySet,
  JWS_ALGORITHMS,
  publicKeySet,
} from "../../src/tokens/index.js";
import { verifyJwsSignature, verifyJwsSignatureWithPublicKey } from "../../src/tokens/jws.js";

const CLAIMS = { iss: "i", aud: "a", sub: "u1", iat: 1, exp: 4_000_000_000 };
const VERIFY = { issuer: "i", audience: "a", clock: () => 2_000 };

// Proofs of possession reuse the codec's signature check (one home for it); these tests hold
// the key-set path and the proof path to the same answers.
describe("the shared JWS signature check", () => {
  for (const alg of JWS_ALGORITHMS.filter((a) => !a.startsWith("HS"))) {
    it(`${alg}: key-set tokens still verify, and the public-key check agrees on them`, () => {
      const set = generateKeySet(alg, "k");
      const token = createJwtSigner(set).sign(CLAIMS);
      const verifier = createJwtVerifier(publicKeySet(set), VERIFY);
      expect(verifier.verify(token)).toMatchObject({ ok: true, claims: { sub: "u1" } });
      const [imported] = importKeySet(publicKeySet(set));
      if (!imported?.publicKey) throw new Error("no public key");
      const asymmetric = alg as "EdDSA" | "ES256" | "RS256" | "PS256";
      expect(verifyJwsSignature(token, imported)).toBe(true);
      expect(verifyJwsSignatureWithPublicKey(token, asymmetric, imported.publicKey)).toBe(true);
      const tampered = `${token.slice(0, -6)}${token.endsWith("AAAAAA") ? "BAAAAA" : "AAAAAA"}`;
      expect(verifyJwsSignature(tampered, imported)).toBe(false);
      expect(verifyJwsSignatureWithPublicKey(tampered, asymmetric, imported.publicKey)).toBe(false);
    });
  }

  it("HS256 key-set tokens still verify", () => {
    const set = generateKeySet("HS256", "h");
    const token = createJwtSigner(set).sign(CLAIMS);
    expect(createJwtVerifier(set, VERIFY).verify(token)).toMatchObject({ ok: true });
  });

  it("the public-key check refuses a signature made for another algorithm or key type", () => {
    const set = generateKeySet("ES256", "k");
    const token = createJwtSigner(set).sign({ sub: "u1" });
    const [imported] = importKeySet(publicKeySet(set));
    if (!imported?.publicKey) throw new Error("no public key");
    expect(verifyJwsSignatureWithPublicKey(token, "ES384", imported.publicKey)).toBe(false);
    expect(verifyJwsSignatureWithPublicKey(token, "RS256", imported.publicKey)).toBe(false);
    const rsa = createPublicKey(importKeySet(generateKeySet("RS256", "r"))[0]?.privateKey ?? "");
    expect(verifyJwsSignatureWithPublicKey(token, "ES256", rsa)).toBe(false);
    expect(verifyJwsSignatureWithPublicKey("no-dots", "ES256", imported.publicKey)).toBe(false);
  });
});
