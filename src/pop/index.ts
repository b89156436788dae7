// Proof of possession: the pure core of DPoP (RFC 9449) and of DBSC's signed proofs. Nothing
// here reads a request, a store or a clock of its own; the session manager wires it in.
export {
  accessTokenHash,
  DPOP_TYP,
  type DpopChallenge,
  type DpopError,
  type DpopFailure,
  type DpopFailureCode,
  type DpopOptions,
  dpopChallenge,
  verifyDpopProof,
} from "./dpop.js";
export { normalizeTargetUri } from "./htu.js";
export {
  fitsAlgorithm,
  isProofAlgorithm,
  type JwkProblem,
  PROOF_ALGORITHMS,
  type ProofAlgorithm,
  readPublicJwk,
} from "./jwk.js";
export { createNonces, type NonceOptions, type Nonces } from "./nonce.js";
export {
  isProofFailure,
  MAX_PROOF_BYTES,
  type ProofFailure,
  type ProofFailureCode,
  type ProofJwt,
  type ProofJwtOptions,
  verifyProofJwt,
} from "./proof-jwt.js";
export { type MemoryReplayCache, memoryReplayCache, type ReplayCache } from "./replay.js";
export { jwkThumbprint, type PublicJwk } from "./thumbprint.js";
