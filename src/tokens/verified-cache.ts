import type { JwtResult, JwtVerifier } from "./jwt.js";

/**
 * Remembers successful verifications, keyed by the whole token string, so that a token seen
 * again skips the signature check. Bounded (least recently used goes first) and each entry
 * dies at the token's `exp`. It caches only what the codec decides; whether the session is
 * still alive (revocation) is checked by the caller on every hit.
 */
export function cachedVerifier(
  verifier: JwtVerifier,
  options: { max?: number; clock?: () => number } = {},
): JwtVerifier {
  const max = options.max ?? 10_000;
  const clock = options.clock ?? Date.now;
  const entries = new Map<string, { result: JwtResult & { ok: true }; expiresAt: number }>();
  return {
    verify(token) {
      if (typeof token !== "string") return verifier.verify(token);
      const hit = entries.get(token);
      const now = clock();
      if (hit) {
        entries.delete(token);
        if (now < hit.expiresAt) {
          entries.set(token, hit); // most recently used goes last
          return hit.result;
        }
      }
      const result = verifier.verify(token);
      if (result.ok) {
        entries.set(token, { result, expiresAt: (result.claims.exp as number) * 1000 });
        if (entries.size > max) {
          const oldest = entries.keys().next().value;
          if (oldest !== undefined) entries.delete(oldest);
        }
      }
      return result;
    },
  };
}
