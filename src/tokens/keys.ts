import {
  createPrivateKey,
  createPublicKey,
  createSecretKey,
  generateKeyPairSync,
  hkdfSync,
  type JsonWebKeyInput,
  type KeyObject,
  randomBytes,
} from "node:crypto";
import { configError } from "../errors.js";
import {
  ALGORITHMS,
  type AlgorithmRow,
  isJwsAlgorithm,
  JWS_ALGORITHMS,
  type JwsAlgorithm,
} from "./algorithms.js";
import { decodeBase64url, encodeBase64url } from "./base64url.js";

/** A JWK's members as node:crypto takes them (its `JsonWebKey`, which newer @types/node
 * export only from `webcrypto`: named through the input type that both versions have). */
type JwkMembers = JsonWebKeyInput["key"];

/** A JSON Web Key as kept in a `--keys` file (private) or a JWKS (public). */
export interface Jwk {
  kty: string;
  kid: string;
  alg: string;
  use?: string;
  k?: string;
  d?: string;
  crv?: string;
  x?: string;
  y?: string;
  n?: string;
  e?: string;
  [member: string]: unknown;
}

export interface JwkSet {
  keys: Jwk[];
}

/** One key, imported once: its `alg` is fixed here, never taken from a token header. */
export interface ImportedKey {
  kid: string;
  alg: JwsAlgorithm;
  /** HMAC secret (HS*). */
  secret: Buffer | KeyObject | null;
  privateKey: KeyObject | null;
  publicKey: KeyObject | null;
}

/**
 * Validates a JWK set. Each key needs one `kid` and one `alg` that agrees with its `kty`
 * (and curve); HMAC keys hold at least as many bits as their hash, RSA moduli at least 2048
 * bits; kids are unique. With `requirePrivate`, every key must be able to sign.
 *
 * @example
 * ```ts
 * import { readFileSync } from "node:fs";
 * import { createSessionManager, loadKeySet } from "sessionkit";
 * import { memoryStore } from "sessionkit/stores/memory";
 *
 * // keys.json as `sessionkit keys generate` prints it
 * const json = JSON.parse(readFileSync("keys.json", "utf8"));
 * const keys = loadKeySet(json, { requirePrivate: true });
 * const tokens = createSessionManager({
 *   strategy: "jwt",
 *   store: memoryStore(),
 *   keys,
 *   issuer: "https://app.example",
 *   audience: "app",
 * });
 * ```
 */
export function loadKeySet(input: unknown, options: { requirePrivate?: boolean } = {}): JwkSet {
  return readKeySet(input, options).set;
}

/**
 * `loadKeySet` and `importKeySet` in one pass, for a caller that needs both: the set (a copy,
 * for key derivation) and its keys imported to sign and verify with.
 */
export function readKeySet(
  input: unknown,
  options: { requirePrivate?: boolean } = {},
): { set: JwkSet; keys: ImportedKey[] } {
  const keys = importKeySet(input, options);
  return { set: { keys: (input as JwkSet).keys.map((key) => ({ ...key })) }, keys };
}

/**
 * Validates a JWK set as `loadKeySet` does and returns its keys as `node:crypto` key objects,
 * ready for `signJws` and `verifyJws`.
 *
 * @example
 * ```ts
 * import { generateKeySet, importKeySet, signJws } from "sessionkit/jwt";
 *
 * const [current] = importKeySet(generateKeySet("EdDSA"));
 * if (current) console.log(signJws({ sub: "u-alice" }, current, { typ: "JWT" }));
 * ```
 */
export function importKeySet(
  input: unknown,
  options: { requirePrivate?: boolean } = {},
): ImportedKey[] {
  if (typeof input !== "object" || input === null || !Array.isArray((input as JwkSet).keys)) {
    throw configError("keys must be a JWK set: an object with a `keys` array");
  }
  const keys = (input as JwkSet).keys;
  if (keys.length === 0) throw configError("keys: the JWK set is empty");
  const kids = new Set<string>();
  return keys.map((key) => {
    if (typeof key !== "object" || key === null) throw configError("keys: each key is an object");
    if (typeof key.kid !== "string" || key.kid === "")
      throw configError("keys: each key needs a kid");
    if (kids.has(key.kid)) throw configError(`keys: duplicate kid ${JSON.stringify(key.kid)}`);
    kids.add(key.kid);
    const imported = importKey(key);
    if (options.requirePrivate && !imported.secret && !imported.privateKey) {
      throw configError(`keys: key ${key.kid} is public only and cannot sign`);
    }
    return imported;
  });
}

function importKey(key: Jwk): ImportedKey {
  const alg = key.alg;
  if (!isJwsAlgorithm(alg)) {
    throw configError(
      `keys: key ${key.kid} has alg ${JSON.stringify(key.alg)}; use one of ${JWS_ALGORITHMS.join(", ")}`,
    );
  }
  const row: AlgorithmRow = ALGORITHMS[alg];
  if (key.kty !== row.kty)
    throw configError(`keys: key ${key.kid}: alg ${alg} needs kty ${row.kty}`);
  if (key.use !== undefined && key.use !== "sig")
    throw configError(`keys: key ${key.kid} is not a signing key`);
  if (row.kty === "oct") {
    const secret = typeof key.k === "string" ? decodeBase64url(key.k) : null;
    if (!secret || secret.length * 8 < row.minKeyBits)
      throw configError(`keys: key ${key.kid} must hold at least ${row.minKeyBits} bits`);
    return {
      kid: key.kid,
      alg,
      secret: createSecretKey(secret),
      privateKey: null,
      publicKey: null,
    };
  }
  if (row.kty !== "RSA" && key.crv !== row.curve)
    throw configError(`keys: key ${key.kid}: alg ${alg} needs crv ${row.curve}`);
  let privateKey: KeyObject | null = null;
  let publicKey: KeyObject;
  try {
    const { kid: _k, alg: _a, use: _u, key_ops: _o, ...material } = key;
    if (typeof key.d === "string") {
      privateKey = createPrivateKey({ key: material as JwkMembers, format: "jwk" });
      publicKey = createPublicKey(privateKey);
    } else {
      publicKey = createPublicKey({ key: material as JwkMembers, format: "jwk" });
    }
  } catch (error) {
    throw configError(
      `keys: key ${key.kid} is not a valid ${key.kty} key: ${(error as Error).message}`,
    );
  }
  const bits = publicKey.asymmetricKeyDetails?.modulusLength;
  if (row.kty === "RSA" && (bits === undefined || bits < row.minKeyBits)) {
    throw configError(
      `keys: RSA key ${key.kid} has ${bits ?? "?"} bits; at least ${row.minKeyBits} are required`,
    );
  }
  return { kid: key.kid, alg, secret: null, privateKey, publicKey };
}

/**
 * A public key from JWK members that came with untrusted input (a proof of possession's
 * `jwk`), or null when they are not one. Never throws: unlike a key set, a bad key here is
 * the sender's fault, not a configuration error. The caller picks the members (public only).
 */
export function importPublicJwk(members: JwkMembers): KeyObject | null {
  try {
    return createPublicKey({ key: members, format: "jwk" });
  } catch {
    return null;
  }
}

const defaultKid = () =>
  `${new Date().toISOString().slice(0, 10)}-${encodeBase64url(randomBytes(4))}`;

/**
 * A fresh private key set of one key, as `sessionkit keys generate` prints it.
 *
 * @example
 * ```ts
 * import { writeFileSync } from "node:fs";
 * import { generateKeySet } from "sessionkit";
 *
 * // One ES256 key; HS256 by default. Private: keep it out of the repository.
 * writeFileSync("keys.json", JSON.stringify(generateKeySet("ES256")), { mode: 0o600 });
 * ```
 */
export function generateKeySet(alg: JwsAlgorithm = "HS256", kid: string = defaultKid()): JwkSet {
  return { keys: [generateKey(alg, kid)] };
}

/**
 * A fresh private key, with its `kid` (default: today's date and 4 random bytes) and `alg`.
 *
 * @example
 * ```ts
 * import { generateKey, type JwkSet } from "sessionkit/jwt";
 *
 * const keys: JwkSet = { keys: [generateKey("EdDSA", "2026-05-signing")] };
 * ```
 */
export function generateKey(alg: JwsAlgorithm, kid: string = defaultKid()): Jwk {
  const meta = { kid, alg, use: "sig" };
  const row: AlgorithmRow = ALGORITHMS[alg];
  if (row.kty === "oct") {
    return { kty: "oct", ...meta, k: encodeBase64url(randomBytes(row.minKeyBits / 8)) };
  }
  const pair =
    row.kty === "RSA"
      ? generateKeyPairSync("rsa", { modulusLength: row.minKeyBits })
      : row.kty === "EC"
        ? generateKeyPairSync("ec", { namedCurve: row.curve })
        : generateKeyPairSync("ed25519");
  return { ...(pair.privateKey.export({ format: "jwk" }) as Jwk), ...meta };
}

/**
 * Puts a new current key in front (it signs from now on) and keeps the previous ones so that
 * tokens they signed verify until they expire; at most `keep` keys stay.
 *
 * @example
 * ```ts
 * import { readFileSync, writeFileSync } from "node:fs";
 * import { loadKeySet, rotateKeySet } from "sessionkit/jwt";
 *
 * // What `sessionkit keys rotate --keys keys.json` does.
 * const current = loadKeySet(JSON.parse(readFileSync("keys.json", "utf8")));
 * writeFileSync("keys.json", JSON.stringify(rotateKeySet(current, { keep: 3 })), { mode: 0o600 });
 * ```
 */
export function rotateKeySet(
  set: JwkSet,
  options: { alg?: JwsAlgorithm; kid?: string; keep?: number } = {},
): JwkSet {
  const current = loadKeySet(set).keys;
  const alg = options.alg ?? (current[0]?.alg as JwsAlgorithm | undefined) ?? "HS256";
  const next = generateKey(alg, options.kid);
  if (current.some((key) => key.kid === next.kid))
    throw configError(`keys: kid ${next.kid} is taken`);
  return { keys: [next, ...current].slice(0, Math.max(2, options.keep ?? 3)) };
}

const PUBLIC_MEMBERS = ["kty", "kid", "alg", "use", "crv", "x", "y", "n", "e"] as const;

/**
 * The public keys of a set, for `/.well-known/jwks.json`. Symmetric keys never leave.
 *
 * @example
 * ```ts
 * import { generateKeySet, publicKeySet } from "sessionkit/jwt";
 *
 * const keys = generateKeySet("ES256");
 * const jwks = publicKeySet(keys); // only the public members (kty, kid, alg, crv, x, y)
 * const serveJwks = () => Response.json(jwks); // GET /.well-known/jwks.json
 * ```
 */
export function publicKeySet(set: JwkSet): JwkSet {
  const keys: Jwk[] = [];
  for (const key of set.keys) {
    if (key.kty === "oct") continue;
    const pub: Record<string, unknown> = {};
    for (const member of PUBLIC_MEMBERS) if (key[member] !== undefined) pub[member] = key[member];
    keys.push(pub as unknown as Jwk);
  }
  return { keys };
}

/**
 * Derives a purpose-bound 256-bit key from the current (first) key of the set with HKDF, so
 * a CSRF MAC can never be confused with a token signature made with the same key material.
 */
export function deriveKey(set: JwkSet, purpose: string): Buffer {
  const current = set.keys[0];
  const material = current?.k ?? current?.d;
  const ikm = typeof material === "string" ? decodeBase64url(material) : null;
  if (!ikm) throw configError("keys: the current key has no private key material");
  return Buffer.from(hkdfSync("sha256", ikm, "sessionkit", `sessionkit/${purpose}`, 32));
}
