import { generateKeyPairSync } from "node:crypto";
import * as jose from "jose";
import { describe, expect, it } from "vitest";
import { jwkThumbprint, type PublicJwk } from "../../src/pop/thumbprint.js";
import { asPublicJwk, clientKey } from "./keys.js";

// RFC 7638 §3.1: the example RSA key and its SHA-256 thumbprint.
const RFC7638_KEY: PublicJwk = {
  kty: "RSA",
  n:
    "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECP" +
    "ebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY" +
    "368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0f" +
    "M4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
  e: "AQAB",
};

// RFC 9449 §4.2 (Figure 4): the example proof's key; §6.1 (Figure 9) gives its `cnf.jkt`.
const RFC9449_KEY: PublicJwk = {
  kty: "EC",
  crv: "P-256",
  x: "l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs",
  y: "9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA",
};

describe("jwkThumbprint (RFC 7638)", () => {
  it("gives the RFC 7638 §3.1 example its published thumbprint", () => {
    expect(jwkThumbprint(RFC7638_KEY)).toBe("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
  });

  it("gives the RFC 9449 example key the jkt its access token carries", () => {
    expect(jwkThumbprint(RFC9449_KEY)).toBe("0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I");
  });

  it("ignores optional members and the order members come in", () => {
    const { n, e } = RFC7638_KEY as Extract<PublicJwk, { kty: "RSA" }>;
    const rsa = { use: "sig", n, alg: "RS256", e, kid: "2011-04-29", kty: "RSA" };
    expect(jwkThumbprint(rsa as PublicJwk)).toBe("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
    const { x, y } = RFC9449_KEY as Extract<PublicJwk, { kty: "EC" }>;
    const ec = { y, key_ops: ["verify"], x, crv: "P-256", kty: "EC" };
    expect(jwkThumbprint(ec as PublicJwk)).toBe("0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I");
  });

  for (const alg of ["ES256", "ES384", "RS256", "EdDSA"] as const) {
    it(`agrees with jose's calculateJwkThumbprint on generated ${alg} keys`, async () => {
      const seen = new Set<string>();
      for (let i = 0; i < 4; i++) {
        const { publicJwk, privateJwk } = await clientKey(alg);
        const expected = await jose.calculateJwkThumbprint(publicJwk, "sha256");
        expect(jwkThumbprint(asPublicJwk(publicJwk))).toBe(expected);
        // The private JWK of the same pair names the same public key.
        expect(jwkThumbprint(asPublicJwk(privateJwk))).toBe(expected);
        seen.add(expected);
      }
      expect(seen.size).toBe(4);
    });
  }

  it("agrees with jose on keys node:crypto exports (P-384, Ed25519, RSA 3072)", async () => {
    const pairs = [
      generateKeyPairSync("ec", { namedCurve: "P-384" }),
      generateKeyPairSync("ed25519"),
      generateKeyPairSync("rsa", { modulusLength: 3072 }),
    ];
    for (const { publicKey } of pairs) {
      const jwk = publicKey.export({ format: "jwk" });
      expect(jwkThumbprint(jwk as PublicJwk)).toBe(
        await jose.calculateJwkThumbprint(jwk as jose.JWK, "sha256"),
      );
    }
  });

  it("throws on a key type outside PublicJwk (a caller's bug, not input)", () => {
    expect(() => jwkThumbprint({ kty: "oct", k: "AAAA" } as unknown as PublicJwk)).toThrow(
      TypeError,
    );
  });
});
