import * as jose from "jose";

// The browser's side of DBSC, played by jose: a key pair, and the proofs a browser signs
// (registration: with the public key in the header; refresh: without).

export type Browser = { privateKey: jose.CryptoKey; jwk: jose.JWK };

export async function browserKey(): Promise<Browser> {
  const { publicKey, privateKey } = await jose.generateKeyPair("ES256");
  return { privateKey, jwk: await jose.exportJWK(publicKey) };
}

export const dbscProof = (key: Browser, challenge: string, withJwk: boolean) =>
  new jose.SignJWT({ jti: challenge })
    .setProtectedHeader({ alg: "ES256", typ: "dbsc+jwt", ...(withJwk ? { jwk: key.jwk } : {}) })
    .sign(key.privateKey);

/** The `name=value` pairs a response sets, as the next request's Cookie header. */
export const cookieOf = (headers: Headers) =>
  headers
    .getSetCookie()
    .map((c) => c.split(";")[0])
    .join("; ");

/** The challenge of a `Secure-Session-Registration` value. */
export const challengeIn = (value: string | null) =>
  /challenge="([^"]+)"/.exec(value ?? "")?.[1] ?? "";

export const registrationChallenge = (headers: Headers) =>
  challengeIn(headers.get("secure-session-registration"));

export const refreshChallenge = (headers: Headers) =>
  /^"([^"]+)"/.exec(headers.get("secure-session-challenge") ?? "")?.[1] ?? "";
