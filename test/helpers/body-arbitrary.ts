import fc from "fast-check";
import {
  junk,
  PROTO,
  pick,
  type Strategy,
  type Target,
  type TokenShape,
  tokenArb,
} from "./token-arbitrary.js";

/**
 * JSON bodies with the route's own fields, mostly right, beside prototype keys (`__proto__`,
 * `constructor`), NUL, lone surrogates, huge strings, deep nesting, cut-off JSON and bytes
 * that are not UTF-8.
 */

const FIELDS: Record<string, string[]> = {
  login: ["username", "password", "transport"],
  users: ["username", "password"],
  refresh: ["refreshToken"],
  "revoke-all": ["exceptCurrent"],
  revoke: ["strategy"],
  inspect: ["token"],
};

export type Str =
  | { user: "attacker" | "victim"; variant: string }
  | { password: string }
  | { lit: string }
  | { token: TokenShape }
  | { huge: number };
export type Value =
  | { str: Str }
  | { num: number }
  | { bool: boolean }
  | { nil: true }
  | { deep: number; open: "[" | "{" }
  | { obj: Array<[string, Value]> }
  | { arr: Value[] };
export type Body =
  | { json: Array<[string, Value]>; cut?: number }
  | { text: string }
  | { bytes: number[] }
  | { huge: number };

const keyArb = fc.oneof(pick(...Object.values(FIELDS).flat(), ...PROTO), junk);
const leafArb: fc.Arbitrary<Value> = fc.oneof(
  pick<Value>({ nil: true }, { bool: true }, { num: -0 }, { num: 1e300 }, { str: { lit: "" } }),
  fc.integer().map((num): Value => ({ num })),
  fc
    .oneof(junk, pick("\u0000", "\ud800", "a\udfffb", "İ", "\u202e"))
    .map((lit): Value => ({ str: { lit } })),
  fc.integer({ min: 1000, max: 20_000 }).map((huge): Value => ({ str: { huge } })),
  fc.record({ deep: fc.integer({ min: 10, max: 6000 }), open: pick<"[" | "{">("[", "{") }),
);
const valueArb: fc.Arbitrary<Value> = fc.oneof(
  { weight: 4, arbitrary: leafArb },
  fc.array(fc.tuple(keyArb, leafArb), { maxLength: 3 }).map((obj): Value => ({ obj })),
  fc.array(leafArb, { maxLength: 3 }).map((arr): Value => ({ arr })),
);

function fieldArb(target: Target, focus: Strategy, field: string): fc.Arbitrary<Value> {
  const str = (s: fc.Arbitrary<Str>) => s.map((v): Value => ({ str: v }));
  const variants = pick("exact", "exact", "exact", "upper", "nul", "surrogate", "space", "dotted");
  const specific: Record<string, fc.Arbitrary<Value>> = {
    username: str(
      fc.record({ user: pick<"attacker" | "victim">("attacker", "victim"), variant: variants }),
    ),
    password: str(
      pick("right", "right", "wrong", "nul", "long", "empty").map((password) => ({ password })),
    ),
    transport: str(pick("cookie", "header", "Header", "").map((lit) => ({ lit }))),
    refreshToken: str(
      tokenArb(target, { strategy: "hybrid", slot: "refresh", transport: "header" }).map(
        (token) => ({ token }),
      ),
    ),
    exceptCurrent: pick<Value>({ bool: true }, { bool: false }, { str: { lit: "true" } }),
    strategy: str(pick(...target.strategies, ...PROTO, "ID", "").map((lit) => ({ lit }))),
    token: str(tokenArb(target, { strategy: focus, slot: "token" }).map((token) => ({ token }))),
  };
  return fc.oneof({ weight: 5, arbitrary: specific[field] ?? valueArb }, valueArb);
}

export function bodyArb(target: Target, focus: Strategy, path: string): fc.Arbitrary<Body> {
  const fields = FIELDS[path.split("/").at(-1) ?? ""] ?? ["username", "password"];
  const pairs = fc
    .tuple(
      fc.tuple(...fields.map((f) => fc.option(fieldArb(target, focus, f), { freq: 6 }))),
      fc.array(fc.tuple(keyArb, valueArb), { maxLength: 2 }),
    )
    .map(([known, extra]) => [
      ...known.flatMap(
        (v, i): Array<[string, Value]> => (v === null ? [] : [[fields[i] ?? "", v]]),
      ),
      ...extra,
    ]);
  return fc.oneof(
    { weight: 10, arbitrary: pairs.map((json): Body => ({ json })) },
    fc.record({ json: pairs, cut: fc.nat(60) }),
    junk.map((text): Body => ({ text })),
    fc.array(fc.nat(255), { maxLength: 24 }).map((bytes): Body => ({ bytes })),
    fc.integer({ min: 16_000, max: 40_000 }).map((huge): Body => ({ huge })),
  );
}
