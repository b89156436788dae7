import { constants, type SigningOptions } from "node:crypto";

/**
 * What one JWS algorithm is: the key it takes and how it signs. The key's parameters are
 * also what a fresh key is generated with: the curve, or `minKeyBits` (an HMAC secret of
 * that many bits, an RSA modulus of that size).
 */
export type AlgorithmRow =
  | {
      kty: "oct";
      /** The HMAC's hash (node:crypto's name). */
      hash: string;
      /** The secret holds at least as many bits as the hash's output (RFC 7518 §3.2). */
      minKeyBits: number;
    }
  | {
      kty: "OKP";
      curve: "Ed25519";
      /** EdDSA hashes by itself. */
      hash: null;
      signatureBytes: number;
      sign: SigningOptions;
    }
  | {
      kty: "EC";
      curve: string;
      hash: string;
      /** Exact length: raw R‖S, twice the curve's field size (RFC 7518 §3.4). */
      signatureBytes: number;
      sign: SigningOptions;
    }
  | {
      kty: "RSA";
      hash: string;
      /** The smallest modulus accepted (RFC 7518 §3.3); a signature is the modulus' length. */
      minKeyBits: number;
      sign: SigningOptions;
    };

// ECDSA signatures in a JWS are raw R‖S, never DER (RFC 7518 §3.4).
const RAW_ECDSA: SigningOptions = { dsaEncoding: "ieee-p1363" };
// RSASSA-PSS with MGF1 and a salt as long as the hash's output (RFC 7518 §3.5).
const pss = (hashBytes: number): SigningOptions => ({
  padding: constants.RSA_PKCS1_PSS_PADDING,
  saltLength: hashBytes,
});

/** Every algorithm sessionkit signs and verifies with; a new algorithm is a new row. */
export const ALGORITHMS = {
  HS256: { kty: "oct", hash: "sha256", minKeyBits: 256 },
  HS384: { kty: "oct", hash: "sha384", minKeyBits: 384 },
  HS512: { kty: "oct", hash: "sha512", minKeyBits: 512 },
  EdDSA: { kty: "OKP", curve: "Ed25519", hash: null, signatureBytes: 64, sign: {} },
  ES256: { kty: "EC", curve: "P-256", hash: "sha256", signatureBytes: 64, sign: RAW_ECDSA },
  ES384: { kty: "EC", curve: "P-384", hash: "sha384", signatureBytes: 96, sign: RAW_ECDSA },
  ES512: { kty: "EC", curve: "P-521", hash: "sha512", signatureBytes: 132, sign: RAW_ECDSA },
  RS256: { kty: "RSA", hash: "sha256", minKeyBits: 2048, sign: {} },
  PS256: { kty: "RSA", hash: "sha256", minKeyBits: 2048, sign: pss(32) },
} as const satisfies Record<string, AlgorithmRow>;

export type JwsAlgorithm = keyof typeof ALGORITHMS;

/** The algorithms whose keys are pairs: what a public key (a JWKS, a proof's key) checks. */
export type AsymmetricAlgorithm = {
  [A in JwsAlgorithm]: (typeof ALGORITHMS)[A]["kty"] extends "oct" ? never : A;
}[JwsAlgorithm];

export const JWS_ALGORITHMS = Object.keys(ALGORITHMS) as readonly JwsAlgorithm[];

export function isJwsAlgorithm(value: unknown): value is JwsAlgorithm {
  return typeof value === "string" && Object.hasOwn(ALGORITHMS, value);
}
