import { describe, expect, it } from "vitest";
import {
  cachedVerifier,
  createJwtSigner,
  createJwtVerifier,
  generateKeySet,
  type JwtVerifier,
} from "../../src/tokens/index.js";

const set = generateKeySet("HS256", "k");
const signer = createJwtSigner(set);
let nowMs = 1_900_000_000_000;
const clock = () => nowMs;
const claims = (exp: number) => ({ iss: "i", aud: "a", sub: "u", exp });

/** Counts how often the real verifier runs under the cache. */
function counting(): JwtVerifier & { calls: number } {
  const inner = createJwtVerifier(set, { issuer: "i", audience: "a", clock });
  const wrapper = {
    calls: 0,
    verify(token: unknown) {
      wrapper.calls++;
      return inner.verify(token);
    },
  };
  return wrapper;
}

describe("verified-token cache", () => {
  it("verifies a token once and answers repeats from the cache", () => {
    const inner = counting();
    const cache = cachedVerifier(inner, { clock });
    const token = signer.sign(claims(nowMs / 1000 + 60));
    for (let i = 0; i < 5; i++) expect(cache.verify(token).ok).toBe(true);
    expect(inner.calls).toBe(1);
  });

  it("drops an entry at the token's exp and never caches failures", () => {
    const inner = counting();
    const cache = cachedVerifier(inner, { clock });
    const token = signer.sign(claims(nowMs / 1000 + 10));
    expect(cache.verify(token).ok).toBe(true);
    nowMs += 41_000; // past exp and the verifier's 30 s of skew
    expect(cache.verify(token)).toEqual({ ok: false, reason: "expired" });
    expect(cache.verify(token).ok).toBe(false);
    expect(inner.calls).toBe(3);
    expect(cache.verify("garbage").ok).toBe(false);
    expect(cache.verify("garbage").ok).toBe(false);
    expect(inner.calls).toBe(5);
  });

  it("stays within its bound, evicting the least recently used", () => {
    const inner = counting();
    const cache = cachedVerifier(inner, { clock, max: 2 });
    const [a, b, c] = [1, 2, 3].map((n) =>
      signer.sign({ ...claims(nowMs / 1000 + 60), jti: `t${n}` }),
    ) as [string, string, string];
    cache.verify(a);
    cache.verify(b);
    cache.verify(a); // a is now the most recent
    cache.verify(c); // evicts b
    const before = inner.calls;
    cache.verify(a);
    expect(inner.calls).toBe(before);
    cache.verify(b);
    expect(inner.calls).toBe(before + 1);
  });
});
