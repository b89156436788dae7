import { configError } from "../errors.js";
import { type Claims, numberClaim } from "./claims.js";
import { type JwsFailure, signJws, verifyJws } from "./jws.js";
import { type ImportedKey, importKeySet, type JwkSet } from "./keys.js";

export type JwtFailure =
  | JwsFailure
  | "expired"
  | "not_yet_valid"
  | "issued_in_future"
  | "bad_time_claim"
  | "missing_exp"
  | "bad_issuer"
  | "bad_audience"
  | "wrong_type";

export type JwtResult =
  | { ok: true; header: Record<string, unknown>; claims: Record<string, unknown> }
  | { ok: false; reason: JwtFailure };

export interface JwtVerifyOptions {
  /** Exact `iss`. `null` skips the check, for inspection tools only. */
  issuer: string | null;
  /** Accepted audiences: the token's `aud` (string or array) must contain one of them. `null`
   * skips the check, for inspection tools only. */
  audience: string | readonly string[] | null;
  /**
   * Required `typ` (`"at+jwt"` for access tokens); compared without case and `application/`.
   * Default `"JWT"`; `null` accepts any type, for inspection tools only.
   */
  type?: string | null;
  /** Seconds of clock skew tolerated on `exp`, `nbf` and `iat`. Default 30, at most 300. */
  skew?: number;
  /** Milliseconds since the epoch. */
  clock?: () => number;
  /**
   * Accept a token past `exp` when everything else holds. Only to learn which session a
   * request proves it held, for sign-out: such a token authorises nothing. Default `false`.
   */
  acceptExpired?: boolean;
}

/**
 * A JWT verifier over a fixed key set: everything about which keys and claims are acceptable
 * is decided here, once. `verify` never throws; the reason of a failure is for logs only.
 */
export interface JwtVerifier {
  verify(token: unknown): JwtResult;
}

/** A time claim in seconds: `undefined` when absent, `null` when not a finite number. */
const timeClaim = (claims: Claims, name: string): number | null | undefined => {
  if (claims[name] === undefined) return undefined;
  const value = numberClaim(claims, name);
  return value !== undefined && Number.isFinite(value) ? value : null;
};

const normalizeType = (value: unknown) =>
  typeof value === "string" ? value.toLowerCase().replace(/^application\//, "") : "jwt";

/**
 * A verifier of JWTs signed with `keys` (a JWK set, public keys are enough, or keys imported
 * once with `importKeySet`), for the exact issuer, audience and type given. Bad options throw
 * `CONFIG_INVALID` here; `verify` never throws.
 *
 * @example
 * ```ts
 * import { createJwtVerifier, type JwkSet } from "sessionkit/jwt";
 *
 * declare const jwks: JwkSet; // the issuer's public keys (`sessionkit keys jwks`)
 * declare const token: string;
 * const verifier = createJwtVerifier(jwks, {
 *   issuer: "https://app.example",
 *   audience: "app",
 *   type: "at+jwt", // hybrid's access tokens; "JWT" (the default) for the jwt strategy
 * });
 * const result = verifier.verify(token);
 * console.log(result.ok ? result.claims.sub : result.reason); // the reason is for logs only
 * ```
 */
export function createJwtVerifier(
  keys: JwkSet | ImportedKey[],
  options: JwtVerifyOptions,
): JwtVerifier {
  const imported = Array.isArray(keys) ? keys : importKeySet(keys);
  const byKid = new Map(imported.map((key) => [key.kid, key]));
  const skew = options.skew ?? 30;
  if (!Number.isFinite(skew) || skew < 0 || skew > 300)
    throw configError("skew must be 0 to 300 seconds");
  if (options.issuer !== null && (typeof options.issuer !== "string" || options.issuer === "")) {
    throw configError("issuer is required");
  }
  const audiences =
    options.audience === null
      ? null
      : new Set(typeof options.audience === "string" ? [options.audience] : options.audience);
  if (audiences?.size === 0) throw configError("audience is required");
  const type = options.type === null ? null : normalizeType(options.type ?? "JWT");
  const clock = options.clock ?? Date.now;

  return {
    verify(token) {
      const jws = verifyJws(token, byKid);
      if (!jws.ok) return jws;
      // Everything below reads claims of a token whose signature is already verified.
      const { header, payload: claims } = jws;
      if (type !== null && normalizeType(header.typ) !== type)
        return { ok: false, reason: "wrong_type" };
      const now = clock() / 1000;
      const exp = timeClaim(claims, "exp");
      const nbf = timeClaim(claims, "nbf");
      const iat = timeClaim(claims, "iat");
      if (exp === undefined) return { ok: false, reason: "missing_exp" };
      if (exp === null || nbf === null || iat === null) {
        return { ok: false, reason: "bad_time_claim" };
      }
      if (now - skew >= exp && !options.acceptExpired) return { ok: false, reason: "expired" };
      if (nbf !== undefined && now + skew < nbf) return { ok: false, reason: "not_yet_valid" };
      if (iat !== undefined && iat > now + skew) return { ok: false, reason: "issued_in_future" };
      if (options.issuer !== null && claims.iss !== options.issuer)
        return { ok: false, reason: "bad_issuer" };
      const aud = claims.aud;
      const tokenAudiences = typeof aud === "string" ? [aud] : Array.isArray(aud) ? aud : [];
      if (audiences && !tokenAudiences.some((a) => typeof a === "string" && audiences.has(a))) {
        return { ok: false, reason: "bad_audience" };
      }
      return { ok: true, header, claims };
    },
  };
}

/**
 * Signs claims with the current (first) key of the set; the header carries its kid and alg.
 * Every key must be able to sign (`CONFIG_INVALID` otherwise). It signs the claims as they
 * are: `exp` and the rest are the caller's.
 *
 * @example
 * ```ts
 * import { createJwtSigner, generateKeySet } from "sessionkit/jwt";
 *
 * const keys = generateKeySet("ES256"); // or loadKeySet() of a `sessionkit keys generate` file
 * const signer = createJwtSigner(keys, { type: "at+jwt" });
 * const now = Math.floor(Date.now() / 1000);
 * const token = signer.sign({
 *   iss: "https://app.example",
 *   aud: "app",
 *   sub: "u-alice",
 *   iat: now,
 *   exp: now + 300,
 * });
 * console.log(signer.kid, token.split(".").length); // the key's kid, 3
 * ```
 */
export function createJwtSigner(keys: JwkSet | ImportedKey[], options: { type?: string } = {}) {
  const imported = Array.isArray(keys) ? keys : importKeySet(keys, { requirePrivate: true });
  const current = imported[0];
  if (!current || (!current.secret && !current.privateKey))
    throw configError("keys: no key to sign with");
  const header = { typ: options.type ?? "JWT" };
  return {
    kid: current.kid,
    alg: current.alg,
    sign: (claims: Record<string, unknown>) => signJws(claims, current, header),
  };
}

/**
 * Header and claims without any verification, for `sessionkit jwt decode`; `null` when the
 * token is not three segments of JSON. Nothing it returns may be trusted.
 *
 * @example
 * ```ts
 * import { decodeJwtUnverified } from "sessionkit/jwt";
 *
 * declare const token: string;
 * // For a look at a token (a log, a support ticket): unverified, so never for a decision.
 * const decoded = decodeJwtUnverified(token);
 * console.log(decoded === null ? "not a JWT" : decoded.claims);
 * ```
 */
export function decodeJwtUnverified(token: string): { header: unknown; claims: unknown } | null {
  const parts = token.split(".");
  if (parts.length !== 3) return null;
  try {
    const decode = (part: string) =>
      JSON.parse(Buffer.from(part, "base64url").toString("utf8")) as unknown;
    return { header: decode(parts[0] ?? ""), claims: decode(parts[1] ?? "") };
  } catch {
    return null;
  }
}
