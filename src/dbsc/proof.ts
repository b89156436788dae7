import { type ProofFailureCode, type ProofJwt, verifyProofJwt } from "../pop/proof-jwt.js";
import type { PublicJwk } from "../pop/thumbprint.js";
import { DBSC_ALGORITHMS, type DbscAlgorithm, isChallenge } from "./headers.js";

/** The `typ` of every DBSC proof, registration and refresh alike. */
export const DBSC_PROOF_TYPE = "dbsc+jwt";

/** A public key as a JWK (EC P-256 for ES256, RSA for RS256), as stored at registration. */
export type DbscPublicJwk = PublicJwk;

/**
 * Remembers challenges already answered. `use` records one and says whether it was new; a
 * store-backed cache may answer asynchronously. Without one, single use is the caller's job
 * (for instance by deleting the challenge from the session before answering).
 */
export interface ChallengeReplayCache {
  use(challenge: string): boolean | Promise<boolean>;
}

export type DbscProofFailureCode =
  /** What the JWS layer refused: size, shape, `typ`, `alg`, the key, the signature. */
  | ProofFailureCode
  | "wrong_challenge"
  | "wrong_authorization"
  | "unexpected_jwk"
  | "replayed_challenge";

export interface DbscProofFailure {
  ok: false;
  code: DbscProofFailureCode;
  /** For logs only (it may quote the input); never shown to the client. */
  detail: string;
}

export interface VerifiedDbscProof {
  ok: true;
  /** The proof's public key (for registration, the one to store with the session). */
  jwk: DbscPublicJwk;
  /** Its RFC 7638 thumbprint (SHA-256, base64url). */
  jkt: string;
  algorithm: DbscAlgorithm;
  /** The challenge the proof answered (one of those accepted). */
  challenge: string;
}

export type DbscProofResult = VerifiedDbscProof | DbscProofFailure;

export interface RegistrationProofOptions {
  /**
   * The challenge sent in `Secure-Session-Registration` (or those still accepted), or a test
   * for stateless challenges (a MAC the server can check without remembering them).
   */
  challenge: Expected;
  /** The `authorization` parameter sent with it, if any: the proof must carry the same. */
  authorization?: string;
  replay?: ChallengeReplayCache;
  algorithms?: readonly DbscAlgorithm[];
}

export interface RefreshProofOptions {
  /** The key stored at registration: the only key that can refresh the session. */
  key: DbscPublicJwk;
  /**
   * The challenges still accepted: the latest sent in `Secure-Session-Challenge`, and possibly
   * the one before it, since the draft warns a proof may answer a challenge just replaced;
   * or a test, for stateless challenges.
   */
  challenge: Expected;
  replay?: ChallengeReplayCache;
  algorithms?: readonly DbscAlgorithm[];
}

function failure(code: DbscProofFailureCode, detail: string): DbscProofFailure {
  return { ok: false, code, detail };
}

/** The challenges a proof may answer: listed, or tested. */
type Expected = string | readonly string[] | ((challenge: string) => boolean);

function acceptedChallenges(challenge: Expected): (jti: string) => boolean {
  if (typeof challenge === "function") return (jti) => isChallenge(jti) && challenge(jti);
  // An unusable expected challenge (empty, or not one we could have sent) matches nothing.
  const list = (typeof challenge === "string" ? [challenge] : challenge).filter(isChallenge);
  return (jti) => list.includes(jti);
}

/**
 * What both proofs share: the JWS (`dbsc+jwt`, an accepted algorithm, signed by `key` when
 * given, else by its own `jwk`), then the proof's own `check`, then the challenge, then
 * single use.
 */
async function verifyDbscProof(
  token: unknown,
  options: Omit<RegistrationProofOptions, "authorization">,
  key: DbscPublicJwk | undefined,
  check: (verified: ProofJwt) => DbscProofFailure | null,
): Promise<DbscProofResult> {
  const verified = verifyProofJwt(token, {
    typ: DBSC_PROOF_TYPE,
    algorithms: options.algorithms ?? DBSC_ALGORITHMS,
    key,
  });
  if ("code" in verified) return failure(verified.code, verified.detail);
  const refused = check(verified);
  if (refused) return refused;
  const jti = verified.payload.jti;
  if (typeof jti !== "string" || !acceptedChallenges(options.challenge)(jti)) {
    return failure("wrong_challenge", typeof jti === "string" ? "jti differs" : "no jti");
  }
  // Consumed only after the signature and the challenge matched: a forged or mistaken proof
  // must not burn the challenge of the browser that holds the key.
  if (options.replay && !(await options.replay.use(jti))) {
    return failure("replayed_challenge", "jti used before");
  }
  return {
    ok: true,
    jwk: verified.jwk,
    jkt: verified.jkt,
    algorithm: String(verified.header.alg) as DbscAlgorithm,
    challenge: jti,
  };
}

/**
 * Verifies the proof a browser posts to the registration endpoint: a `dbsc+jwt` JWS signed
 * by the key in its own `jwk` header, answering the challenge sent (`jti`) and carrying the
 * `authorization` sent, if one was. Never throws; any refusal is a failure with a code.
 */
export function verifyRegistrationProof(
  token: unknown,
  options: RegistrationProofOptions,
): Promise<DbscProofResult> {
  return verifyDbscProof(token, options, undefined, (verified) => {
    const expected = options.authorization;
    const actual = verified.payload.authorization;
    if (expected === undefined ? actual === undefined : actual === expected) return null;
    return failure("wrong_authorization", actual === undefined ? "missing" : "differs");
  });
}

/**
 * Verifies the proof a browser sends to the refresh endpoint after a `403` with a challenge:
 * a `dbsc+jwt` JWS signed by the key stored at registration, without a `jwk` header (the
 * draft forbids one on refresh), answering an accepted challenge. Never throws.
 */
export function verifyRefreshProof(
  token: unknown,
  options: RefreshProofOptions,
): Promise<DbscProofResult> {
  // verifyProofJwt lets a header `jwk` equal to the registered key through; DBSC forbids any.
  return verifyDbscProof(token, options, options.key, (verified) =>
    verified.header.jwk === undefined
      ? null
      : failure("unexpected_jwk", "a refresh proof names no key of its own"),
  );
}
