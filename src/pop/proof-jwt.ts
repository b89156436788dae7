import { decodeBase64url, isCanonicalBase64url } from "../tokens/base64url.js";
import { parseStrictJsonObject } from "../tokens/json.js";
import { verifyJwsSignatureWithPublicKey } from "../tokens/jws.js";
import {
  fitsAlgorithm,
  isProofAlgorithm,
  type ProofAlgorithm,
  publicKeyOf,
  readPublicJwk,
  shown,
} from "./jwk.js";
import { jwkThumbprint, type PublicJwk } from "./thumbprint.js";

/** Proofs longer than this (in characters) are refused before anything is decoded. */
export const MAX_PROOF_BYTES = 8192;

export interface ProofJwtOptions {
  /** The `typ` the header must carry, compared exactly: `dpop+jwt`, `dbsc+jwt`. */
  typ: string;
  /** Algorithms accepted; only asymmetric ones can ever be (others listed are ignored). */
  algorithms: readonly ProofAlgorithm[];
  /**
   * The key registered earlier (DBSC refresh): the signature is checked with it, and a `jwk`
   * the header carries must be the same key. Without it the header's `jwk` is the key.
   */
  key?: PublicJwk;
  /** Default 8 KiB. */
  maxBytes?: number;
}

/** A proof whose signature checked out; its claims are the caller's to check. */
export interface ProofJwt {
  header: Readonly<Record<string, unknown>>;
  payload: Record<string, unknown>;
  /** The key that signed it, its required members only. */
  jwk: PublicJwk;
  /** RFC 7638 SHA-256 thumbprint of `jwk`. */
  jkt: string;
}

/** Why a proof was refused: a stable `code`; `detail` is for logs (it may quote the input). */
export type ProofFailureCode =
  | "too_large"
  | "malformed"
  | "bad_header"
  | "bad_typ"
  | "bad_alg"
  | "bad_jwk"
  | "private_key"
  | "alg_mismatch"
  | "key_mismatch"
  | "bad_signature";

export interface ProofFailure {
  code: ProofFailureCode;
  detail: string;
}

export function isProofFailure(value: ProofJwt | ProofFailure): value is ProofFailure {
  return "code" in value;
}

const fail = (code: ProofFailureCode, detail: string): ProofFailure => ({ code, detail });

/**
 * Verifies a proof-of-possession JWT (RFC 9449 §4.2 and §4.3 items 2 and 4 to 7; DBSC
 * registration and refresh proofs): a compact JWS of three canonical base64url parts, header
 * and payload JSON objects without repeated members, the exact `typ`, an accepted asymmetric
 * `alg` (never `none` or a MAC), no `crit`, a public key of the type and curve `alg` names,
 * and a signature by that key. Checks no claim: `htm`, `htu`, `iat`, `jti`, nonces and the
 * rest belong to the protocol (dpop.ts, DBSC). Never throws, whatever `token` is.
 */
export function verifyProofJwt(token: unknown, options: ProofJwtOptions): ProofJwt | ProofFailure {
  if (typeof token !== "string") return fail("malformed", "the proof is not a string");
  const maxBytes = options.maxBytes ?? MAX_PROOF_BYTES;
  if (token.length > maxBytes) return fail("too_large", `longer than ${maxBytes} bytes`);
  const parts = token.split(".");
  if (parts.length !== 3) return fail("malformed", `${parts.length} parts, not 3`);
  const [head = "", body = "", signature = ""] = parts;
  if (!parts.every(isCanonicalBase64url)) {
    return fail("malformed", "a part is not canonical unpadded base64url");
  }
  const headerBytes = decodeBase64url(head);
  const header = headerBytes && parseStrictJsonObject(headerBytes);
  if (!header) return fail("malformed", "the header is not one JSON object without repeats");

  // Explicit typing (RFC 8725 §3.11): a JWT made for another purpose is never a proof.
  if (header.typ !== options.typ) return fail("bad_typ", `typ ${shown(header.typ)}`);
  const alg = header.alg;
  if (!isProofAlgorithm(alg) || !options.algorithms.includes(alg)) {
    return fail("bad_alg", `alg ${shown(alg)} is not accepted`);
  }
  // No extension is understood here, so one marked critical must be refused (RFC 7515 §4.1.11).
  if (Object.hasOwn(header, "crit")) return fail("bad_header", "crit names an extension");
  if (signature === "") return fail("malformed", "no signature");

  const key = signingKey(header.jwk, options.key);
  if ("code" in key) return key;
  if (!fitsAlgorithm(key.jwk, alg)) return fail("alg_mismatch", `${alg} with a ${key.jwk.kty} key`);
  // A JWK may say which algorithm it is for (RFC 7517 §4.4); it must be this one.
  const declared = (header.jwk as { alg?: unknown } | undefined)?.alg;
  if (declared !== undefined && declared !== alg) {
    return fail("alg_mismatch", `the jwk is for ${shown(declared)}, the proof is ${alg}`);
  }
  const publicKey = publicKeyOf(key.jwk);
  if (!publicKey) return fail("bad_jwk", "the key does not import (a point off its curve?)");
  // RFC 9864's "Ed25519" is EdDSA over an Ed25519 key (fitsAlgorithm checked the key).
  if (!verifyJwsSignatureWithPublicKey(token, alg === "Ed25519" ? "EdDSA" : alg, publicKey)) {
    return fail("bad_signature", "the signature does not verify with the key");
  }

  // Decoded only now that the signer is known.
  const payload = parseStrictJsonObject(Buffer.from(body, "base64url"));
  if (!payload) return fail("malformed", "the payload is not one JSON object without repeats");
  return { header, payload, jwk: key.jwk, jkt: key.jkt };
}

/** The key to check the signature with: the registered one, else the header's own `jwk`. */
function signingKey(
  headerJwk: unknown,
  registered: PublicJwk | undefined,
): { jwk: PublicJwk; jkt: string } | ProofFailure {
  const presented = headerJwk === undefined ? undefined : readPublicJwk(headerJwk);
  if (presented && "code" in presented) return fail(presented.code, presented.detail);
  if (registered === undefined) {
    if (!presented) return fail("bad_jwk", "the header carries no jwk");
    return { jwk: presented, jkt: jwkThumbprint(presented) };
  }
  // The registered key went through the same reading when it was stored; read again so a
  // record altered since (or a caller's mistake) is refused, not trusted.
  const stored = readPublicJwk(registered);
  if ("code" in stored) return fail("bad_jwk", `the registered key: ${stored.detail}`);
  const jkt = jwkThumbprint(stored);
  if (presented && jwkThumbprint(presented) !== jkt) {
    return fail("key_mismatch", "the header's jwk is not the registered key");
  }
  return { jwk: stored, jkt };
}
