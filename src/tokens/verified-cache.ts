import { numberClaim } from "./claims.js";
import type { JwtResult, JwtVerifier } from "./jwt.js";

interface Entry {
  token: string;
  result: JwtResult & { ok: true };
  expiresAt: number;
  /** Used since it was cached or last spared: spared once more when its turn to go comes. */
  used: boolean;
}

/**
 * Remembers successful verifications so that a token seen again skips the signature check.
 * Entries are found by the token's signature segment (a short key, cheap to hash) and count
 * only when the whole token is the one that was verified. Bounded: when full, the oldest entry
 * goes, unless it was used since it was cached, in which case it is spared once (a second
 * chance, close to least-recently-used without reordering on every hit). Each entry dies at
 * the token's `exp`. It caches only what the codec decides; whether the session is still
 * alive (revocation) is checked by the caller on every hit.
 *
 * @example
 * ```ts
 * import { cachedVerifier, createJwtVerifier, type JwkSet } from "sessionkit/jwt";
 *
 * declare const jwks: JwkSet;
 * declare const token: string;
 * const verifier = cachedVerifier(
 *   createJwtVerifier(jwks, { issuer: "https://app.example", audience: "app" }),
 *   { max: 10_000 },
 * );
 * // A token seen before skips its signature check; whether its session was revoked since
 * // is still yours to check on every request.
 * const result = verifier.verify(token);
 * console.log(result.ok);
 * ```
 */
export function cachedVerifier(
  verifier: JwtVerifier,
  options: { max?: number; clock?: () => number } = {},
): JwtVerifier {
  const max = options.max ?? 10_000;
  const clock = options.clock ?? Date.now;
  const entries = new Map<string, Entry>();

  const evict = () => {
    for (const [key, entry] of entries) {
      if (entries.size <= max) return;
      entries.delete(key);
      if (entry.used) {
        entry.used = false;
        entries.set(key, entry);
      }
    }
  };

  return {
    verify(token) {
      if (typeof token !== "string") return verifier.verify(token);
      const key = token.slice(token.lastIndexOf(".") + 1);
      const hit = entries.get(key);
      if (hit !== undefined && hit.token === token) {
        if (clock() < hit.expiresAt) {
          hit.used = true;
          return hit.result;
        }
        entries.delete(key);
      }
      const result = verifier.verify(token);
      if (result.ok) {
        // A verifier that lets a token without a numeric `exp` through (or one already past
        // it) gets no entry: it would be dead on arrival and could push a live one out.
        const expiresAt = (numberClaim(result.claims, "exp") ?? 0) * 1000;
        entries.delete(key);
        if (expiresAt > clock()) {
          entries.set(key, { token, result, expiresAt, used: false });
          if (entries.size > max) evict();
        }
      }
      return result;
    },
  };
}
