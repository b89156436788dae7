import type { KeyObject } from "node:crypto";
import { decodeBase64url } from "../tokens/base64url.js";
import { importPublicJwk } from "../tokens/keys.js";
import type { PublicJwk } from "./thumbprint.js";

/** The asymmetric JWS algorithms a proof of possession may be signed with. */
/**
 * The asymmetric JWS algorithms a proof of possession may be signed with. "Ed25519" is RFC
 * 9864's fully specified name of EdDSA with an Ed25519 key, which some clients send.
 */
export type ProofAlgorithm = "ES256" | "ES384" | "RS256" | "PS256" | "EdDSA" | "Ed25519";
export const PROOF_ALGORITHMS: readonly ProofAlgorithm[] = [
  "ES256",
  "ES384",
  "RS256",
  "PS256",
  "EdDSA",
  "Ed25519",
];

export function isProofAlgorithm(value: unknown): value is ProofAlgorithm {
  return typeof value === "string" && (PROOF_ALGORITHMS as readonly string[]).includes(value);
}

/**
 * Members that carry private or symmetric key material (RFC 7518 §6.2.2, §6.3.2, §6.4.1): a
 * key that arrives with any of them was leaked by its own sender and proves nothing.
 */
const SECRET_MEMBERS = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

// Coordinates and keys are fixed-length octet strings (RFC 7518 §6.2.1.2, RFC 8037 §2).
const COORDINATE_BYTES: Record<string, number> = { "P-256": 32, "P-384": 48, Ed25519: 32 };
// RSA moduli: at least 2048 bits (as for our own keys); at most 8192, which bounds the work a
// single proof can ask of the verifier. Exponents of more than 64 bits serve no key in use.
const RSA_MIN_BITS = 2048;
const RSA_MAX_BITS = 8192;
const RSA_MAX_EXPONENT_BYTES = 8;

export type JwkProblem = { code: "bad_jwk" | "private_key"; detail: string };

/**
 * Reads an untrusted JWK as a public key of a supported type: EC P-256 or P-384, RSA (2048 to
 * 8192 bits), OKP Ed25519. A key with private or symmetric material is a `private_key`
 * problem; anything else unusable is `bad_jwk`. Each member must be its one canonical
 * spelling (unpadded base64url, full-length coordinates, no leading zero octets in RSA
 * integers), so one key has one thumbprint. Other members (`kid`, `alg`, `use`) are allowed
 * and dropped. Never throws.
 */
export function readPublicJwk(value: unknown): PublicJwk | JwkProblem {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return { code: "bad_jwk", detail: "jwk is not a JSON object" };
  }
  const jwk = value as Record<string, unknown>;
  for (const name of SECRET_MEMBERS) {
    if (Object.hasOwn(jwk, name)) {
      return { code: "private_key", detail: `jwk carries the private member "${name}"` };
    }
  }
  const kty = jwk.kty;
  if (kty === "oct") return { code: "private_key", detail: "jwk is a symmetric key" };
  if (kty === "EC") {
    const { crv, x, y } = jwk;
    if (crv !== "P-256" && crv !== "P-384") return unsupported(`EC curve ${shown(crv)}`);
    if (!isOctets(x, COORDINATE_BYTES[crv]) || !isOctets(y, COORDINATE_BYTES[crv])) {
      return { code: "bad_jwk", detail: `x and y must be ${COORDINATE_BYTES[crv]}-byte base64url` };
    }
    return { kty, crv, x, y };
  }
  if (kty === "OKP") {
    const { crv, x } = jwk;
    if (crv !== "Ed25519") return unsupported(`OKP curve ${shown(crv)}`);
    if (!isOctets(x, COORDINATE_BYTES[crv])) {
      return { code: "bad_jwk", detail: "x must be 32-byte base64url" };
    }
    return { kty, crv, x };
  }
  if (kty === "RSA") {
    const { n, e } = jwk;
    const modulus = typeof n === "string" ? decodeBase64url(n) : null;
    const exponent = typeof e === "string" ? decodeBase64url(e) : null;
    if (!modulus || !exponent || modulus[0] === 0 || exponent[0] === 0 || exponent.length === 0) {
      return { code: "bad_jwk", detail: "n and e must be minimal base64url integers" };
    }
    // An even exponent is no RSA key; e = 1 would make every value its own signature.
    const last = exponent[exponent.length - 1] ?? 0;
    if (last % 2 === 0 || (exponent.length === 1 && last === 1)) {
      return { code: "bad_jwk", detail: "e must be odd and at least 3" };
    }
    const bits = modulus.length * 8 - Math.clz32(modulus[0] ?? 0) + 24;
    if (bits < RSA_MIN_BITS || bits > RSA_MAX_BITS || exponent.length > RSA_MAX_EXPONENT_BYTES) {
      return {
        code: "bad_jwk",
        detail: `RSA key of ${bits} bits; ${RSA_MIN_BITS} to ${RSA_MAX_BITS} are accepted`,
      };
    }
    return { kty, n: n as string, e: e as string };
  }
  return unsupported(`kty ${shown(kty)}`);
}

/** Whether `jwk` is a key of the type and curve that `alg` signs with. */
export function fitsAlgorithm(jwk: PublicJwk, alg: ProofAlgorithm): boolean {
  switch (alg) {
    case "ES256":
      return jwk.kty === "EC" && jwk.crv === "P-256";
    case "ES384":
      return jwk.kty === "EC" && jwk.crv === "P-384";
    case "RS256":
    case "PS256":
      return jwk.kty === "RSA";
    case "EdDSA":
    case "Ed25519":
      return jwk.kty === "OKP" && jwk.crv === "Ed25519";
  }
}

/** The key object of a JWK that `readPublicJwk` accepted, or null if it is not a valid key
 * (an EC point off its curve, an RSA modulus the library refuses). */
export function publicKeyOf(jwk: PublicJwk): KeyObject | null {
  return importPublicJwk({ ...jwk });
}

function isOctets(value: unknown, length: number | undefined): value is string {
  if (typeof value !== "string") return false;
  return decodeBase64url(value)?.length === length;
}

function unsupported(what: string): JwkProblem {
  return { code: "bad_jwk", detail: `unsupported ${what}` };
}

/** An untrusted value for a log line: JSON, cut short. */
export function shown(value: unknown): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch {
    text = undefined;
  }
  text ??= typeof value;
  return text.length > 40 ? `${text.slice(0, 40)}...` : text;
}
