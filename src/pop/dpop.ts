import { createHash, timingSafeEqual } from "node:crypto";
import { normalizeTargetUri } from "./htu.js";
import { isProofAlgorithm, type ProofAlgorithm, shown } from "./jwk.js";
import type { Nonces } from "./nonce.js";
import { type ProofFailureCode, verifyProofJwt } from "./proof-jwt.js";
import type { ReplayCache } from "./replay.js";

export interface DpopOptions {
  /** Accepted proof algorithms (RFC 9449 §4.3 item 5); also the `algs` of a challenge. */
  algorithms: readonly ProofAlgorithm[];
  /** The server's time, epoch ms. */
  now: number;
  /** How old a proof's `iat` may be; default 60 s. */
  maxAgeMs?: number;
  /** How far ahead of `now` a proof's `iat` may be (client clocks run fast); default 5 s. */
  skewMs?: number;
  /** Remembers `jti`s: share one across instances for replay refusal across them. */
  replay: ReplayCache;
  /** When set, proofs must carry a `nonce` these issued (RFC 9449 §9). */
  nonces?: Nonces;
  /** The access token presented with the proof (`Authorization: DPoP <token>`): needs `ath`. */
  accessToken?: string;
  /** The thumbprint the token is bound to (`cnf.jkt`, or the one stored with the session). */
  expectedJkt?: string;
}

/** What RFC 9449 §7.1 tells the client; a challenge is built from it by `dpopChallenge`. */
export type DpopError = "invalid_dpop_proof" | "use_dpop_nonce" | "invalid_token";

export type DpopFailureCode =
  | ProofFailureCode
  | "missing_proof"
  | "bad_claims"
  | "wrong_method"
  | "wrong_uri"
  | "iat_too_old"
  | "iat_in_future"
  | "use_dpop_nonce"
  | "bad_ath"
  | "unbound_token"
  | "wrong_key"
  | "replayed";

export interface DpopFailure {
  code: DpopFailureCode;
  /** For logs only: it may quote the proof. */
  detail: string;
  error: DpopError;
  /** With `use_dpop_nonce`: the fresh nonce to send as `DPoP-Nonce`. */
  nonce?: string;
}

export const DPOP_TYP = "dpop+jwt";
const MAX_JTI_LENGTH = 256;

const invalid = (code: DpopFailureCode, detail: string): DpopFailure => ({
  code,
  detail,
  error: "invalid_dpop_proof",
});

/**
 * Checks the DPoP proof of one request (RFC 9449 §4.3, items 2 to 12): a `dpop+jwt` signed by
 * the public key in its header with an accepted algorithm; `jti`, `htm`, `htu`, `iat` present;
 * `htm` equal to the method; `htu` equal to the request URI without query and fragment, after
 * normalisation (htu.ts); `iat` within [now - maxAge, now + skew]; the `nonce` when nonces are
 * configured; `ath` equal to the hash of the access token when one is presented; the proof's
 * key equal to the token's binding; and the `jti` not seen before for that key. The replay
 * check comes last, so a proof refused for another reason does not use up its `jti`.
 *
 * Item 1 is the caller's: a request with more than one `DPoP` header field (or one whose value
 * was joined from several) must be refused before this is called; pass the one value as it
 * came, or null when there is none. `request.url` is the absolute URL the server received
 * (`Request.url`; behind a proxy, rebuilt from what the proxy vouches for). Never throws on
 * any proof or request.
 */
export function verifyDpopProof(
  proof: string | null,
  request: { method: string; url: string },
  options: DpopOptions,
): { jkt: string } | DpopFailure {
  const { now, replay, nonces, accessToken, expectedJkt } = options;
  const maxAgeMs = options.maxAgeMs ?? 60_000;
  const skewMs = options.skewMs ?? 5_000;
  if (proof === null || proof === "") return invalid("missing_proof", "no DPoP header");

  const verified = verifyProofJwt(proof, { typ: DPOP_TYP, algorithms: options.algorithms });
  if ("code" in verified) return invalid(verified.code, verified.detail);
  const { payload, jkt } = verified;

  const { jti, htm, htu, iat } = payload;
  if (typeof jti !== "string" || jti === "" || jti.length > MAX_JTI_LENGTH) {
    return invalid("bad_claims", `jti ${shown(jti)}: a string of 1 to ${MAX_JTI_LENGTH}`);
  }
  if (typeof htm !== "string") return invalid("bad_claims", `htm ${shown(htm)}`);
  if (typeof htu !== "string") return invalid("bad_claims", `htu ${shown(htu)}`);
  if (typeof iat !== "number" || !Number.isFinite(iat)) {
    return invalid("bad_claims", `iat ${shown(iat)}`);
  }

  // Methods are case-sensitive (RFC 9110 §9.1).
  if (htm !== request.method) return invalid("wrong_method", `htm ${shown(htm)}`);
  const target = normalizeTargetUri(htu);
  if (target === null || target !== requestTarget(request.url)) {
    return invalid("wrong_uri", `htu ${shown(htu)}`);
  }

  if (nonces) {
    const nonce = payload.nonce;
    if (!nonces.check(nonce)) {
      return {
        code: "use_dpop_nonce",
        detail: nonce === undefined ? "no nonce" : `nonce ${shown(nonce)} unknown or expired`,
        error: "use_dpop_nonce",
        nonce: nonces.issue(),
      };
    }
  }

  // Written as the conditions to accept, so that NaN anywhere refuses.
  const issuedAt = iat * 1000;
  if (!(issuedAt >= now - maxAgeMs)) return invalid("iat_too_old", `iat ${iat}`);
  if (!(issuedAt <= now + skewMs)) return invalid("iat_in_future", `iat ${iat}`);

  if (accessToken !== undefined) {
    const ath = payload.ath;
    if (typeof ath !== "string" || !equalText(ath, accessTokenHash(accessToken))) {
      return invalid("bad_ath", ath === undefined ? "no ath" : "ath is not the token's hash");
    }
    // A token presented with a proof must be bound to a key: one that is not is a bearer
    // token, and accepting it here would let DPoP launder it.
    if (expectedJkt === undefined) {
      return {
        code: "unbound_token",
        detail: "the token is bound to no key",
        error: "invalid_token",
      };
    }
  }
  if (expectedJkt !== undefined && !equalText(jkt, expectedJkt)) {
    return {
      code: "wrong_key",
      detail: "the proof's key is not the token's",
      error: "invalid_token",
    };
  }

  // Kept as long as the proof could be accepted: until `iat` + maxAge. The thumbprint has a
  // fixed length, so `jkt:jti` names one pair only.
  // Exactly `true`: a cache answering a promise (always truthy) must fail closed, not open.
  if (replay.firstUse(`${jkt}:${jti}`, issuedAt + maxAgeMs, now) !== true) {
    return invalid("replayed", `jti ${shown(jti)} was seen before (or the cache is full)`);
  }
  return { jkt };
}

/** `ath` (RFC 9449 §4.2): base64url of the SHA-256 of the access token's ASCII. */
export function accessTokenHash(accessToken: string): string {
  return createHash("sha256").update(accessToken, "utf8").digest("base64url");
}

function requestTarget(url: string): string | null {
  try {
    // Re-serialised first: the server's own URL is trusted to name the request even when it
    // spells a character raw that an `htu` may not.
    return normalizeTargetUri(new URL(url).href);
  } catch {
    return null;
  }
}

/** Equal strings, compared in time that does not depend on where they differ. */
function equalText(a: string, b: string): boolean {
  const left = Buffer.from(a, "utf8");
  const right = Buffer.from(b, "utf8");
  return left.length === right.length && timingSafeEqual(left, right);
}

export interface DpopChallenge {
  status: 401;
  /** `www-authenticate`, and `dpop-nonce` with `use_dpop_nonce`. */
  headers: Record<string, string>;
}

// Fixed texts, never the failure's detail: a header must not carry what a client sent.
const DESCRIPTION: Record<DpopError, string> = {
  invalid_dpop_proof: "Invalid DPoP proof",
  use_dpop_nonce: "Resource server requires nonce in DPoP proof",
  invalid_token: "Invalid DPoP key binding",
};
const QUOTABLE = /^[\u0020\u0021\u0023-\u005b\u005d-\u007e]*$/;

/**
 * The 401 answer to a refused request (RFC 9449 §7.1 and §9): `WWW-Authenticate: DPoP` with
 * `realm` when given, `error` and `error_description` for a failure (none for `null`, a
 * request that carried no credentials), and `algs`; plus `DPoP-Nonce` for `use_dpop_nonce`.
 * Browser clients read these across origins only if the response lists them in
 * `Access-Control-Expose-Headers`.
 */
export function dpopChallenge(
  failure: DpopFailure | null,
  options: { algorithms: readonly ProofAlgorithm[]; realm?: string },
): DpopChallenge {
  const params: string[] = [];
  if (options.realm !== undefined) {
    if (!QUOTABLE.test(options.realm)) {
      throw new TypeError(
        "dpopChallenge: realm must be printable ASCII without quote or backslash",
      );
    }
    params.push(`realm="${options.realm}"`);
  }
  if (failure) {
    params.push(`error="${failure.error}"`, `error_description="${DESCRIPTION[failure.error]}"`);
  }
  const algs = options.algorithms.filter(isProofAlgorithm);
  if (algs.length > 0) params.push(`algs="${algs.join(" ")}"`);
  const headers: Record<string, string> = { "www-authenticate": `DPoP ${params.join(", ")}` };
  if (failure?.error === "use_dpop_nonce" && failure.nonce !== undefined) {
    headers["dpop-nonce"] = failure.nonce;
  }
  return { status: 401, headers };
}
