// `sessionkit/jwt`: the strict JWS/JWT codec, for verifying sessionkit's tokens elsewhere.
export { JWS_ALGORITHMS, type JwsAlgorithm } from "./algorithms.js";
export {
  type JwsFailure,
  type JwsResult,
  MAX_TOKEN_BYTES,
  signJws,
  verifyJws,
  verifyJwsSignature,
} from "./jws.js";
export {
  createJwtSigner,
  createJwtVerifier,
  decodeJwtUnverified,
  type JwtFailure,
  type JwtResult,
  type JwtVerifier,
  type JwtVerifyOptions,
} from "./jwt.js";
export {
  generateKey,
  generateKeySet,
  type ImportedKey,
  importKeySet,
  type Jwk,
  type JwkSet,
  loadKeySet,
  publicKeySet,
  rotateKeySet,
} from "./keys.js";
export { cachedVerifier } from "./verified-cache.js";
