import {
  createHmac,
  sign as cryptoSign,
  verify as cryptoVerify,
  type KeyObject,
} from "node:crypto";
import { ALGORITHMS, type AlgorithmRow, type AsymmetricAlgorithm } from "./algorithms.js";
import { decodeBase64url, encodeBase64url, isCanonicalBase64url } from "./base64url.js";
import { parseStrictJsonObject } from "./json.js";
import type { ImportedKey } from "./keys.js";

/** Tokens longer than this are refused before anything is decoded. */
export const MAX_TOKEN_BYTES = 8192;

/** Why a compact JWS was refused; for logs and events, never for the client. */
export type JwsFailure =
  | "too_large"
  | "jwe"
  | "malformed"
  | "bad_header"
  | "forbidden_header"
  | "alg_none"
  | "unknown_kid"
  | "alg_mismatch"
  | "bad_signature"
  | "bad_payload";

export type JwsResult =
  | { ok: true; header: Readonly<Record<string, unknown>>; payload: Record<string, unknown> }
  | { ok: false; reason: JwsFailure };

// Headers repeat across tokens (same alg, kid, typ): the parse of each distinct encoded header
// is kept, frozen, in a small bounded map. Only headers that parsed are kept.
const headers = new Map<string, Readonly<Record<string, unknown>>>();
const MAX_HEADERS = 256;

function parseHeader(
  encoded: string,
): Readonly<Record<string, unknown>> | "malformed" | "bad_header" {
  const known = headers.get(encoded);
  if (known) return known;
  const bytes = decodeBase64url(encoded);
  if (!bytes) return "malformed";
  const parsed = parseStrictJsonObject(bytes);
  if (!parsed) return "bad_header";
  if (headers.size >= MAX_HEADERS) headers.clear();
  const header = Object.freeze(parsed);
  headers.set(encoded, header);
  return header;
}

/** Header members that would let the token choose keys or change how it is processed. */
const FORBIDDEN_HEADERS = ["crit", "b64", "jku", "jwk", "x5u", "x5c", "zip", "enc"];

function signBytes(key: ImportedKey, data: Buffer): Buffer {
  const row: AlgorithmRow = ALGORITHMS[key.alg];
  if (row.kty === "oct") {
    if (!key.secret) throw new Error(`key ${key.kid} cannot sign`);
    return createHmac(row.hash, key.secret).update(data).digest();
  }
  if (!key.privateKey) throw new Error(`key ${key.kid} cannot sign`);
  return cryptoSign(row.hash, data, { key: key.privateKey, ...row.sign });
}

/**
 * Whether `signature` (canonical base64url, already checked) is the signature of `data`, the
 * signing input: ASCII by construction (base64url and a dot).
 */
function verifyBytes(key: ImportedKey, data: string, signature: string): boolean {
  const row: AlgorithmRow = ALGORITHMS[key.alg];
  if (row.kty === "oct") {
    if (!key.secret) return false;
    // Compared as base64url text: the canonical spelling of the expected MAC is one string,
    // so equal text is equal bytes, without decoding the presented one.
    const expected = createHmac(row.hash, key.secret).update(data, "latin1").digest("base64url");
    return constantTimeEqual(expected, signature);
  }
  return key.publicKey !== null && verifyAsymmetric(row, key.publicKey, data, signature);
}

function verifyAsymmetric(
  row: Exclude<AlgorithmRow, { kty: "oct" }>,
  publicKey: KeyObject,
  data: string,
  signature: string,
): boolean {
  const bytes = Buffer.from(signature, "base64url");
  // Exactly the algorithm's length: a DER ECDSA signature (or any other length) is refused,
  // not converted.
  const length =
    row.kty === "RSA"
      ? (publicKey.asymmetricKeyDetails?.modulusLength ?? 0) / 8
      : row.signatureBytes;
  if (bytes.length !== length) return false;
  try {
    return cryptoVerify(
      row.hash,
      Buffer.from(data, "latin1"),
      { key: publicKey, ...row.sign },
      bytes,
    );
  } catch {
    return false;
  }
}

/** Equal strings, in time that depends only on their length (the MAC is the secret part). */
function constantTimeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

/**
 * Signs a compact JWS. The header's `alg` and `kid` always come from the key.
 *
 * @example
 * ```ts
 * import { generateKeySet, importKeySet, signJws } from "sessionkit/jwt";
 *
 * const [key] = importKeySet(generateKeySet());
 * if (!key) throw new Error("empty key set");
 * const now = Math.floor(Date.now() / 1000);
 * const token = signJws({ sub: "u-alice", iat: now, exp: now + 300 }, key, { typ: "JWT" });
 * ```
 */
export function signJws(
  payload: Record<string, unknown>,
  key: ImportedKey,
  header: Record<string, unknown> = {},
): string {
  const protectedHeader = { ...header, alg: key.alg, kid: key.kid };
  const head = encodeBase64url(Buffer.from(JSON.stringify(protectedHeader)));
  const body = encodeBase64url(Buffer.from(JSON.stringify(payload)));
  const input = `${head}.${body}`;
  return `${input}.${encodeBase64url(signBytes(key, Buffer.from(input, "ascii")))}`;
}

/** Signs raw bytes as they are (for known-answer vectors whose header bytes are fixed). */
export function signJwsInput(signingInput: string, key: ImportedKey): string {
  return encodeBase64url(signBytes(key, Buffer.from(signingInput, "ascii")));
}

/** A header that passed every check, with the one key it names. */
interface Resolved {
  header: Readonly<Record<string, unknown>>;
  kid: string;
  key: ImportedKey;
}

// Per key set: the outcome of the header checks for each distinct encoded header that passed
// them, so that a token whose header was seen before costs one map lookup before its MAC.
const resolvedByKeys = new WeakMap<ReadonlyMap<string, ImportedKey>, Map<string, Resolved>>();

function resolveHeader(
  encoded: string,
  keys: ReadonlyMap<string, ImportedKey>,
): Resolved | JwsFailure {
  let resolved = resolvedByKeys.get(keys);
  const known = resolved?.get(encoded);
  // Only while the caller's map still holds that very key under that kid: a key removed or
  // replaced in place (rotation after a leak) must stop verifying at once.
  if (known && keys.get(known.kid) === known.key) return known;
  const header = parseHeader(encoded);
  if (typeof header === "string") return header;
  const alg = header.alg;
  if (typeof alg !== "string") return "bad_header";
  if (alg.toLowerCase() === "none") return "alg_none";
  for (const name of FORBIDDEN_HEADERS) if (name in header) return "forbidden_header";
  const kid = header.kid;
  if (typeof kid !== "string") return "unknown_kid";
  // Map lookups only: a kid is never a path, a query or anything but a name.
  const key = keys.get(kid);
  if (!key) return "unknown_kid";
  if (key.alg !== alg) return "alg_mismatch";
  if (!resolved) {
    resolved = new Map();
    resolvedByKeys.set(keys, resolved);
  }
  if (resolved.size >= MAX_HEADERS) resolved.clear();
  const result = { header, kid, key };
  resolved.set(encoded, result);
  return result;
}

/**
 * Verifies a compact JWS strictly: at most 8 KiB; exactly three segments of canonical
 * base64url; a header that is a JSON object without duplicate members, `none` or any of
 * `crit`/`b64`/`jku`/`jwk`/`x5u`/`x5c`; a `kid` naming one of `keys`, whose own `alg` must
 * equal the header's; the signature checked before the payload is even decoded. Never throws.
 *
 * @example
 * ```ts
 * import { generateKeySet, importKeySet, signJws, verifyJws } from "sessionkit/jwt";
 *
 * const keys = importKeySet(generateKeySet());
 * const byKid = new Map(keys.map((key) => [key.kid, key]));
 * const [current] = keys;
 * const token = current ? signJws({ sub: "u-alice" }, current) : "";
 *
 * const result = verifyJws(token, byKid); // never throws
 * if (result.ok) console.log(result.payload.sub); // u-alice
 * else console.log(result.reason); // "bad_signature", "malformed", ...
 * ```
 */
export function verifyJws(token: unknown, keys: ReadonlyMap<string, ImportedKey>): JwsResult {
  if (typeof token !== "string") return { ok: false, reason: "malformed" };
  if (token.length > MAX_TOKEN_BYTES) return { ok: false, reason: "too_large" };
  const first = token.indexOf(".");
  const second = token.indexOf(".", first + 1);
  if (first < 0 || second < 0) return { ok: false, reason: "malformed" };
  if (token.indexOf(".", second + 1) >= 0) {
    return { ok: false, reason: token.split(".").length === 5 ? "jwe" : "malformed" };
  }
  const payloadText = token.slice(first + 1, second);
  const signature = token.slice(second + 1);
  if (!isCanonicalBase64url(signature) || !isCanonicalBase64url(payloadText))
    return { ok: false, reason: "malformed" };
  const resolved = resolveHeader(token.slice(0, first), keys);
  if (typeof resolved === "string") return { ok: false, reason: resolved };
  if (!verifyBytes(resolved.key, token.slice(0, second), signature)) {
    return { ok: false, reason: "bad_signature" };
  }
  const payload = parseStrictJsonObject(Buffer.from(payloadText, "base64url"));
  if (!payload) return { ok: false, reason: "bad_payload" };
  return { ok: true, header: resolved.header, payload };
}

/**
 * Signature check alone, for known-answer vectors whose payload is not a JSON object.
 *
 * @example
 * ```ts
 * import { importKeySet, verifyJwsSignature } from "sessionkit/jwt";
 *
 * // A known-answer vector: the HS256 key and token of RFC 7515, appendix A.1.
 * declare const rfc7515Key: { kty: "oct"; kid: string; alg: "HS256"; k: string };
 * declare const rfc7515Token: string;
 * const [key] = importKeySet({ keys: [rfc7515Key] });
 * if (key) console.log(verifyJwsSignature(rfc7515Token, key)); // true
 * ```
 */
export function verifyJwsSignature(token: string, key: ImportedKey): boolean {
  const dot = token.lastIndexOf(".");
  const signature = token.slice(dot + 1);
  return isCanonicalBase64url(signature) && verifyBytes(key, token.slice(0, dot), signature);
}

/**
 * Signature check of a compact JWS (`header.payload.signature`) with a public key that is not
 * in a key set: the key a proof of possession carries or was registered with. The caller has
 * checked that `publicKey` is a key of `alg`'s type. Never throws.
 */
export function verifyJwsSignatureWithPublicKey(
  token: string,
  alg: AsymmetricAlgorithm,
  publicKey: KeyObject,
): boolean {
  const dot = token.lastIndexOf(".");
  if (dot < 0) return false;
  const signature = token.slice(dot + 1);
  return (
    isCanonicalBase64url(signature) &&
    verifyAsymmetric(ALGORITHMS[alg], publicKey, token.slice(0, dot), signature)
  );
}
