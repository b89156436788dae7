import * as jose from "jose";
import { describe, expect, it } from "vitest";
import {
  createJwtSigner,
  createJwtVerifier,
  generateKeySet,
  JWS_ALGORITHMS,
  type JwkSet,
  publicKeySet,
  rotateKeySet,
} from "../../src/tokens/index.js";

// jose is the oracle: what we sign, jose verifies; what jose signs, we verify.
const ISS = "https://app.example";
const AUD = "app";
const now = () => Math.floor(Date.now() / 1000);
const claims = () => ({ iss: ISS, aud: AUD, sub: "u1", sid: "s1", iat: now(), exp: now() + 300 });

/** The key jose needs: the secret for HS*, the public JWK otherwise. */
async function joseVerifyKey(set: JwkSet) {
  const [key] = set.keys;
  if (!key) throw new Error("no key");
  if (key.kty === "oct") return jose.importJWK({ kty: "oct", k: key.k }, key.alg);
  const [pub] = publicKeySet(set).keys;
  return jose.importJWK(pub as jose.JWK, key.alg);
}

describe("interoperability with jose", () => {
  for (const alg of JWS_ALGORITHMS) {
    it(`${alg}: jose verifies what we sign`, async () => {
      const set = generateKeySet(alg, `k-${alg}`);
      const token = createJwtSigner(set).sign(claims());
      const { payload, protectedHeader } = await jose.jwtVerify(token, await joseVerifyKey(set), {
        issuer: ISS,
        audience: AUD,
        algorithms: [alg],
      });
      expect(payload.sub).toBe("u1");
      expect(protectedHeader).toEqual({ alg, kid: `k-${alg}`, typ: "JWT" });
    });

    it(`${alg}: we verify what jose signs`, async () => {
      const set = generateKeySet(alg, `k-${alg}`);
      const [jwk] = set.keys;
      if (!jwk) throw new Error("no key");
      const signingKey = await jose.importJWK(jwk as jose.JWK, alg);
      const token = await new jose.SignJWT(claims())
        .setProtectedHeader({ alg, kid: jwk.kid, typ: "JWT" })
        .sign(signingKey);
      const verifier = createJwtVerifier(alg.startsWith("HS") ? set : publicKeySet(set), {
        issuer: ISS,
        audience: AUD,
      });
      const result = verifier.verify(token);
      expect(result).toMatchObject({ ok: true, claims: { sub: "u1" } });
    });
  }

  it("a rotated set: old tokens keep verifying, new ones use the new key, jose agrees", async () => {
    const first = generateKeySet("EdDSA", "old");
    const oldToken = createJwtSigner(first).sign(claims());
    const rotated = rotateKeySet(first, { kid: "new" });
    const newToken = createJwtSigner(rotated).sign(claims());
    expect(jose.decodeProtectedHeader(newToken).kid).toBe("new");
    const verifier = createJwtVerifier(publicKeySet(rotated), { issuer: ISS, audience: AUD });
    expect(verifier.verify(oldToken).ok).toBe(true);
    expect(verifier.verify(newToken).ok).toBe(true);
    const jwks = jose.createLocalJWKSet(publicKeySet(rotated) as jose.JSONWebKeySet);
    for (const token of [oldToken, newToken]) {
      await expect(
        jose.jwtVerify(token, jwks, { issuer: ISS, audience: AUD }),
      ).resolves.toBeTruthy();
    }
  });
});
