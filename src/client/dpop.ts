/**
 * The browser side of DPoP (RFC 9449): one ECDSA P-256 key pair whose private half no script
 * can export, and a fresh proof JWT signed with it for every request. A token copied out of
 * the page is then worth nothing without the key, which stays in the browser.
 */
import type { DpopKeyPair, DpopKeyStorage, WebCryptoKey } from "./dpop-keys.js";

// The slice of WebCrypto used here (the package is built without the DOM types).
interface Subtle {
  generateKey(
    algorithm: { name: "ECDSA"; namedCurve: "P-256" },
    extractable: boolean,
    usages: string[],
  ): Promise<DpopKeyPair>;
  exportKey(format: "jwk", key: WebCryptoKey): Promise<{ x?: unknown; y?: unknown }>;
  sign(
    algorithm: { name: "ECDSA"; hash: "SHA-256" },
    key: WebCryptoKey,
    data: Uint8Array,
  ): Promise<ArrayBuffer>;
  digest(algorithm: "SHA-256", data: Uint8Array): Promise<ArrayBuffer>;
}
interface WebCrypto {
  subtle?: Subtle;
  getRandomValues(array: Uint8Array): Uint8Array;
}

export interface DpopProver {
  /**
   * The `DPoP` header for one request to `url` (absolute): `ath` when `accessToken` is given,
   * and the newest nonce the URL's origin sent.
   */
  proof(method: string, url: string, accessToken?: string | null): Promise<string>;
  /**
   * `doFetch` with a proof, remembering any `DPoP-Nonce` the answer carries, and retried once
   * with the new nonce when the server refuses the proof for want of it.
   */
  fetch(
    doFetch: typeof fetch,
    url: string,
    init: RequestInit,
    accessToken: string | null,
  ): Promise<Response>;
  /** Deletes the stored key (sign-out): the next proof is signed by a new one. */
  forget(): Promise<void>;
  /** Drops the key held in memory, for one another tab deleted from the storage. */
  reload(): void;
}

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/** Base64url without padding (RFC 7515 §2), written out so that the client needs nothing. */
export function base64url(bytes: Uint8Array): string {
  let out = "";
  for (let i = 0; i < bytes.length; i += 3) {
    const a = bytes[i] ?? 0;
    const b = bytes[i + 1] ?? 0;
    const c = bytes[i + 2] ?? 0;
    const left = bytes.length - i;
    out += ALPHABET[a >> 2];
    out += ALPHABET[((a & 3) << 4) | (b >> 4)];
    if (left > 1) out += ALPHABET[((b & 15) << 2) | (c >> 6)];
    if (left > 2) out += ALPHABET[c & 63];
  }
  return out;
}

const utf8 = (text: string) => new TextEncoder().encode(text);

// fetch sends these methods in upper case whatever case they were given in (Fetch standard,
// "normalize a method"), and any other one as given: `htm` must name what goes on the wire.
const NORMALIZED_METHOD = /^(DELETE|GET|HEAD|OPTIONS|POST|PUT)$/i;
const USE_NONCE = /\berror="use_dpop_nonce"/;

/**
 * Throws at once where WebCrypto is missing (browsers offer `crypto.subtle` only to secure
 * contexts: HTTPS or localhost): a client that was asked for DPoP must not quietly send
 * Bearer tokens instead.
 */
export function createDpopProver(keys: DpopKeyStorage): DpopProver {
  const crypto = (globalThis as unknown as { crypto?: WebCrypto }).crypto;
  const subtle = crypto?.subtle;
  if (!crypto || !subtle || typeof subtle.sign !== "function") {
    throw new TypeError(
      "sessionkit/client: dpop needs WebCrypto (crypto.subtle), which browsers offer only " +
        "on HTTPS pages and localhost",
    );
  }
  const nonces = new Map<string, string>();

  /** The pair and the proofs' encoded header, which is the same for every proof. */
  const load = async () => {
    const pair =
      (await keys.get()) ??
      // Non-extractable: the private key can sign, and nothing, this code included, can
      // ever read it out. (A public key is always extractable, as WebCrypto makes it.)
      (await keys.add(
        await subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign"]),
      ));
    const { x, y } = await subtle.exportKey("jwk", pair.publicKey);
    if (typeof x !== "string" || typeof y !== "string") {
      throw new TypeError("sessionkit/client: the stored DPoP key is not an EC P-256 key");
    }
    // The public members only: the header must never carry more than the thumbprint covers.
    const jwk = { kty: "EC", crv: "P-256", x, y };
    const header = base64url(utf8(JSON.stringify({ typ: "dpop+jwt", alg: "ES256", jwk })));
    return { privateKey: pair.privateKey, header };
  };
  let current: ReturnType<typeof load> | null = null;
  const key = () => {
    current ??= load().catch((error: unknown) => {
      current = null; // not kept: the next request tries again
      throw error;
    });
    return current;
  };

  const proof = async (method: string, url: string, accessToken?: string | null) => {
    const { privateKey, header } = await key();
    const target = new URL(url);
    const nonce = nonces.get(target.origin);
    target.search = "";
    target.hash = "";
    const payload: Record<string, string | number> = {
      jti: base64url(crypto.getRandomValues(new Uint8Array(16))),
      htm: NORMALIZED_METHOD.test(method) ? method.toUpperCase() : method,
      htu: target.href,
      iat: Math.floor(Date.now() / 1000),
    };
    if (accessToken) {
      payload.ath = base64url(new Uint8Array(await subtle.digest("SHA-256", utf8(accessToken))));
    }
    if (nonce !== undefined) payload.nonce = nonce;
    const input = `${header}.${base64url(utf8(JSON.stringify(payload)))}`;
    // WebCrypto's ECDSA signature is r || s, 32 bytes each: already the JWS form (RFC 7518
    // §3.4), unlike the DER that other APIs produce.
    const signature = await subtle.sign(
      { name: "ECDSA", hash: "SHA-256" },
      privateKey,
      utf8(input),
    );
    return `${input}.${base64url(new Uint8Array(signature))}`;
  };

  return {
    proof,
    async fetch(doFetch, url, init, accessToken) {
      const origin = new URL(url).origin;
      const attempt = async () => {
        const headers = new Headers(init.headers);
        headers.set("dpop", await proof(init.method ?? "GET", url, accessToken));
        const response = await doFetch(url, { ...init, headers });
        const nonce = response.headers.get("dpop-nonce");
        if (nonce) nonces.set(origin, nonce);
        return response;
      };
      const response = await attempt();
      // RFC 9449 §9: a 401 that asks for a nonce carries it; one retry, with a new proof.
      const asksForNonce =
        response.status === 401 &&
        response.headers.has("dpop-nonce") &&
        USE_NONCE.test(response.headers.get("www-authenticate") ?? "");
      if (!asksForNonce) return response;
      await response.body?.cancel().catch(() => undefined); // unread, it would hold a connection
      return attempt();
    },
    async forget() {
      current = null;
      await keys.clear();
    },
    reload() {
      current = null;
    },
  };
}
