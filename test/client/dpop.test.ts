import { randomBytes } from "node:crypto";
import * as jose from "jose";
import { afterEach, describe, expect, it, vi } from "vitest";
import { base64url } from "../../src/client/dpop.js";
import {
  createSessionClient,
  type DpopKeyStorage,
  memoryDpopKeys,
  memoryTokens,
} from "../../src/client/index.js";
import { proofParts, sha256 } from "./dpop-server.js";

// sessionkit/client's DPoP proofs and key, in Node (WebCrypto is there, IndexedDB is not: the
// key is kept by memoryDpopKeys), checked with jose as the oracle. Against the session
// manager: client-dpop-flows.test.ts; in Chromium, with IndexedDB: client-dpop.e2e.test.ts.
const API = "https://api.example";
const jwkThumbprint = (jwk: jose.JWK) => jose.calculateJwkThumbprint(jwk);

/** A fetch that answers 200 and records what it was asked. */
function recordingFetch() {
  const sent: Array<{ url: string; headers: Headers }> = [];
  const f: typeof fetch = async (input, init) => {
    sent.push({ url: String(input), headers: new Headers(init?.headers) });
    return new Response("{}", { status: 200 });
  };
  return { f, sent };
}

describe("sessionkit/client DPoP proofs", () => {
  afterEach(() => {
    vi.unstubAllGlobals();
  });

  const client = (keys: DpopKeyStorage = memoryDpopKeys()) =>
    createSessionClient({
      baseUrl: API,
      tokens: memoryTokens(),
      dpop: { keys },
      fetch: recordingFetch().f,
    });

  it("signs proofs jose verifies with the embedded key: ES256, public JWK only, htm, htu without query or fragment, fresh iat, new jti", async () => {
    const c = client();
    const first = await proofParts(await c.dpopProof("get", "/things?page=2#top"));
    expect(first.header.alg).toBe("ES256");
    expect(first.header.typ).toBe("dpop+jwt");
    expect(Object.keys(first.header.jwk ?? {}).sort()).toEqual(["crv", "kty", "x", "y"]);
    expect(first.header.jwk).toMatchObject({ kty: "EC", crv: "P-256" });
    expect(first.payload.htm).toBe("GET");
    expect(first.payload.htu).toBe(`${API}/things`);
    expect(Math.abs((first.payload.iat ?? 0) - Date.now() / 1000)).toBeLessThan(2);
    expect(first.payload.jti).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(first.payload).not.toHaveProperty("ath");
    expect(first.payload).not.toHaveProperty("nonce");

    const second = await proofParts(await c.dpopProof("POST", `${API}/other`));
    expect(second.payload.jti).not.toBe(first.payload.jti);
    expect(second.jkt).toBe(first.jkt);
    // fetch upper-cases only the six standard methods; PATCH goes on the wire as written.
    expect((await proofParts(await c.dpopProof("patch", "/x"))).payload.htm).toBe("patch");
  });

  it("covers an access token with ath, the base64url SHA-256 of the token", async () => {
    const token = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2ln";
    const { payload } = await proofParts(await client().dpopProof("GET", "/me", token));
    expect(payload.ath).toBe(sha256(token));
  });

  it("encodes base64url as Node does, for every length of padding", () => {
    for (let length = 0; length < 70; length++) {
      const bytes = randomBytes(length);
      expect(base64url(new Uint8Array(bytes))).toBe(bytes.toString("base64url"));
    }
  });

  it("creates a non-extractable private key and keeps it in the key storage", async () => {
    const keys = memoryDpopKeys();
    const { jkt } = await proofParts(await client(keys).dpopProof("GET", "/me"));
    const pair = await keys.get();
    expect(pair?.privateKey.extractable).toBe(false);
    const subtle = globalThis.crypto.subtle;
    type NodeKey = Parameters<typeof subtle.exportKey>[1];
    await expect(subtle.exportKey("jwk", pair?.privateKey as NodeKey)).rejects.toThrow();
    const publicJwk = await subtle.exportKey("jwk", pair?.publicKey as NodeKey);
    expect(await jwkThumbprint(publicJwk as jose.JWK)).toBe(jkt);
    // A client created later (a reload) signs with the key kept, not a new one.
    expect((await proofParts(await client(keys).dpopProof("GET", "/me"))).jkt).toBe(jkt);
  });

  it("gives two clients that start at once over one storage the same key, as tabs share one", async () => {
    const keys = memoryDpopKeys();
    const [a, b] = await Promise.all([
      client(keys).dpopProof("GET", "/me"),
      client(keys).dpopProof("GET", "/me"),
    ]);
    expect((await proofParts(a)).jkt).toBe((await proofParts(b)).jkt);
  });

  it("adds a proof and the DPoP scheme to trusted requests only", async () => {
    const { f, sent } = recordingFetch();
    const tokens = memoryTokens();
    tokens.set("access", "the-token");
    const c = createSessionClient({
      baseUrl: API,
      tokens,
      dpop: { keys: memoryDpopKeys() },
      fetch: f,
    });
    await c.fetch("/me");
    await c.fetch("https://elsewhere.example/x");
    const [mine, theirs] = sent;
    expect(mine?.headers.get("authorization")).toBe("DPoP the-token");
    const { payload } = await proofParts(mine?.headers.get("dpop") ?? "");
    expect(payload).toMatchObject({ htm: "GET", htu: `${API}/me`, ath: sha256("the-token") });
    expect(theirs?.headers.get("authorization")).toBeNull();
    expect(theirs?.headers.get("dpop")).toBeNull();
  });

  it("refuses to start without what it needs, rather than send Bearer tokens", async () => {
    expect(() => createSessionClient({ dpop: true })).toThrow(/tokens/);
    // Node has WebCrypto but no IndexedDB: `dpop: true` cannot keep a key here.
    expect(() => createSessionClient({ tokens: memoryTokens(), dpop: true })).toThrow(/IndexedDB/);
    vi.stubGlobal("crypto", undefined);
    expect(() =>
      createSessionClient({ tokens: memoryTokens(), dpop: { keys: memoryDpopKeys() } }),
    ).toThrow(/WebCrypto/);
    vi.unstubAllGlobals();
    await expect(createSessionClient({}).dpopProof("GET", `${API}/me`)).rejects.toThrow(/dpop/);
  });
});
