import fc from "fast-check";

/**
 * Tokens with the shapes an attacker uses: the run's real ones (live or revoked, of any
 * strategy, in any slot), each one small step wrong, forged, or junk; and the small helpers
 * the request and body arbitraries share.
 */

export type Strategy = "id" | "jwt" | "hybrid";
/** `jar` is every cookie the session's sign-in set, as one Cookie header value. */
export type Slot = "token" | "refresh" | "csrf" | "anon-csrf" | "jar";
export type CookieKind = "session" | "jwt" | "access" | "refresh" | "csrf";
export interface TokenRef {
  strategy: Strategy;
  slot: Slot;
  transport: "cookie" | "header";
  age: "live" | "revoked";
}
export const MUTATIONS = [
  "flip",
  "truncate",
  "append",
  "case",
  "noncanonical",
  "pad",
  "double",
  "oversize",
  "percent",
  "space",
  "dot",
] as const;
export type Mutation = (typeof MUTATIONS)[number];
/** Tokens made by the test, each of which the server must refuse (see `fuzz-pool.ts`). */
export const FORGERIES = [
  "alg-none",
  "random-key",
  "typ-swap",
  "aud-swap",
  "expired",
  "revoked-sid",
  "forbidden-header",
  "kid-unknown",
  "hmac-public-key",
  "splice",
  "payload-edit",
  "opaque-victim",
  "opaque-cross",
] as const;
export type Forgery = (typeof FORGERIES)[number];
export type TokenShape =
  | { ref: TokenRef }
  | { ref: TokenRef; mutation: Mutation; at: number }
  | { ref: TokenRef; forgery: Forgery; other: TokenRef }
  | { text: string };

/** Where a shape's real values come from: the tokens and users seeded for this run. */
export interface TokenSource {
  token(ref: TokenRef): string;
  forge(forgery: Forgery, ref: TokenRef, other: TokenRef): string;
  sessionId(owner: "attacker" | "victim", ref: TokenRef): string;
  username(who: "attacker" | "victim"): string;
  readonly password: string;
}

export interface Target {
  routes: ReadonlyArray<{ method: string; path: string }>;
  strategies: readonly Strategy[];
  cookies: Record<CookieKind, string>;
  /** The origin the target allows for CSRF. */
  origin: string;
}

export const PROTO = [
  "__proto__",
  "constructor",
  "prototype",
  "toString",
  "hasOwnProperty",
  "valueOf",
];

export const pick = <T>(...values: T[]) => fc.constantFrom(...values);
export const junk = fc.string({ unit: "binary", maxLength: 40 });
export const rare = (n: number) => fc.nat(n).map((v) => v === 0);
/** `usual` six times in seven, else one of the others: mostly right, one thing wrong. */
export const mostly = <T>(usual: T, ...others: T[]): fc.Arbitrary<T> =>
  fc.oneof({ weight: 6, arbitrary: fc.constant(usual) }, pick(...others));

export function refArb(target: Target, bias: Partial<TokenRef>): fc.Arbitrary<TokenRef> {
  const strategies = target.strategies;
  const s = bias.strategy && strategies.includes(bias.strategy) ? bias.strategy : strategies[0];
  return fc.record({
    strategy: mostly(s ?? "id", ...strategies),
    slot: mostly<Slot>(bias.slot ?? "token", "token", "refresh", "csrf", "anon-csrf"),
    transport: pick<"cookie" | "header">(bias.transport ?? "cookie", "cookie", "header"),
    age: mostly<"live" | "revoked">("live", "revoked"),
  });
}

export function tokenArb(target: Target, bias: Partial<TokenRef>): fc.Arbitrary<TokenShape> {
  const ref = refArb(target, bias);
  return fc.oneof(
    { weight: 10, arbitrary: ref.map((r): TokenShape => ({ ref: r })) },
    {
      weight: 3,
      arbitrary: fc.record({ ref, mutation: pick(...MUTATIONS), at: fc.nat(999) }),
    },
    {
      weight: 2,
      arbitrary: fc.record({ ref, forgery: pick(...FORGERIES), other: refArb(target, {}) }),
    },
    { weight: 1, arbitrary: junk.map((text): TokenShape => ({ text })) },
  );
}
