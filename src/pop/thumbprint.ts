import { createHash } from "node:crypto";

/**
 * A public key as proofs of possession carry it: the members RFC 7638 requires for its key
 * type and nothing else. Untrusted JWKs become one through `readPublicJwk` (jwk.ts), which
 * also holds each member to its one canonical spelling.
 */
export type PublicJwk =
  | { kty: "EC"; crv: "P-256" | "P-384"; x: string; y: string }
  | { kty: "RSA"; n: string; e: string }
  | { kty: "OKP"; crv: "Ed25519"; x: string };

/**
 * The RFC 7638 JWK SHA-256 thumbprint, base64url: the hash of the JSON object of the required
 * members only, in lexicographic order, without whitespace. Other members a JWK may carry
 * (`kid`, `alg`, `use`...) do not change it. This is the `jkt` of RFC 9449 (`cnf.jkt`).
 */
export function jwkThumbprint(jwk: PublicJwk): string {
  return createHash("sha256").update(canonicalMembers(jwk), "utf8").digest("base64url");
}

function canonicalMembers(jwk: PublicJwk): string {
  // Objects keep string keys in insertion order, so each literal below is already sorted.
  switch (jwk.kty) {
    case "EC":
      return JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y });
    case "RSA":
      return JSON.stringify({ e: jwk.e, kty: jwk.kty, n: jwk.n });
    case "OKP":
      return JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x });
    default:
      // Only reachable by a caller that bypassed the type: a programming error, not input.
      throw new TypeError(
        `jwkThumbprint: unsupported kty ${JSON.stringify((jwk as PublicJwk).kty)}`,
      );
  }
}
