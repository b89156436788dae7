import { constants, createPrivateKey, type JsonWebKey, type KeyObject, sign } from "node:crypto";
import * as jose from "jose";
import type { PublicJwk } from "../../src/pop/thumbprint.js";

/** The proof algorithms (as src/pop/jwk.ts names them). */
export type ProofAlgorithm = "ES256" | "ES384" | "RS256" | "PS256" | "EdDSA" | "Ed25519";

/** A client key pair made by jose (WebCrypto), as a browser would make one. */
export interface ClientKey {
  alg: ProofAlgorithm;
  privateKey: jose.CryptoKey;
  /** As jose exports it. */
  publicJwk: jose.JWK;
  privateJwk: jose.JWK;
  /** The same private key for node:crypto, to sign header and payload bytes written by hand. */
  nodePrivate: KeyObject;
}

export async function clientKey(alg: ProofAlgorithm): Promise<ClientKey> {
  const { publicKey, privateKey } = await jose.generateKeyPair(alg, { extractable: true });
  const publicJwk = await jose.exportJWK(publicKey);
  const privateJwk = await jose.exportJWK(privateKey);
  const nodePrivate = createPrivateKey({ key: privateJwk as JsonWebKey, format: "jwk" });
  return { alg, privateKey, publicJwk, privateJwk, nodePrivate };
}

export const asPublicJwk = (jwk: jose.JWK) => jwk as unknown as PublicJwk;

export const b64 = (text: string) => Buffer.from(text, "utf8").toString("base64url");

/** A proof as jose makes it: header `{ alg, typ, jwk }` plus `header`'s members. */
export function joseProof(
  key: ClientKey,
  payload: Record<string, unknown>,
  header: Record<string, unknown> = {},
  typ = "dpop+jwt",
): Promise<string> {
  return new jose.SignJWT(payload)
    .setProtectedHeader({ alg: key.alg, typ, jwk: key.publicJwk, ...header })
    .sign(key.privateKey);
}

/** Header and payload JSON exactly as written (repeats and all), validly signed by `key`. */
export function forge(headerText: string, payloadText: string, key: ClientKey): string {
  const input = `${b64(headerText)}.${b64(payloadText)}`;
  return `${input}.${signInput(input, key)}`;
}

export function signInput(input: string, key: ClientKey): string {
  const data = Buffer.from(input, "ascii");
  const ecdsa = { key: key.nodePrivate, dsaEncoding: "ieee-p1363" } as const;
  const signature =
    key.alg === "ES256"
      ? sign("sha256", data, ecdsa)
      : key.alg === "ES384"
        ? sign("sha384", data, ecdsa)
        : key.alg === "PS256"
          ? sign("sha256", data, {
              key: key.nodePrivate,
              padding: constants.RSA_PKCS1_PSS_PADDING,
              saltLength: 32,
            })
          : key.alg === "RS256"
            ? sign("sha256", data, key.nodePrivate)
            : sign(null, data, key.nodePrivate);
  return signature.toString("base64url");
}
