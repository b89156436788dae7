import fc from "fast-check";
import { type Body, bodyArb } from "./body-arbitrary.js";
import {
  type CookieKind,
  junk,
  mostly,
  PROTO,
  pick,
  rare,
  refArb,
  type Strategy,
  type Target,
  type TokenRef,
  type TokenShape,
  tokenArb,
} from "./token-arbitrary.js";

export type { Body, Str, Value } from "./body-arbitrary.js";
export * from "./token-arbitrary.js";

/**
 * Requests with the shapes an attacker sends, not noise: built from a target's route table,
 * with the run's real tokens (live, revoked, mutated, forged, of another strategy) in every
 * place a token travels, cookies duplicated and renamed, CSRF headers in every combination,
 * and JSON bodies with prototype keys, NUL, lone surrogates, huge strings and deep nesting
 * (body-arbitrary.ts). A shape is small and printable; `renderRequest` fills in the run's real
 * tokens, so that a failure shrinks to a case a person can read.
 */

const HOSTILE_SEGMENTS = [
  ...PROTO,
  "..",
  "%2e%2e",
  "..%2F..%2Fpackage.json",
  "%2E%2E%2F%2E%2E%2Fserver%2Fapp.js",
  "index.js%00.map",
  "%00",
  "%ff",
  "%",
  "%zz",
  "*",
  "-",
  "a".repeat(300),
];
const COOKIE_BIAS: Record<CookieKind | "other", Partial<TokenRef>> = {
  session: { strategy: "id", slot: "token" },
  jwt: { strategy: "jwt", slot: "token" },
  access: { strategy: "hybrid", slot: "token" },
  refresh: { strategy: "hybrid", slot: "refresh" },
  csrf: { slot: "csrf" },
  other: {},
};
/** How a cookie's name is spelt: right, or case-variant, padded, unprefixed, look-alike. */
const NAME_VARIANTS = [
  "lower",
  "upper",
  "pad",
  "bare",
  "prefix-swap",
  "lookalike",
  "encoded",
] as const;
export type NameVariant = "exact" | (typeof NAME_VARIANTS)[number];
export type CookiePart =
  | { kind: CookieKind | "other"; variant: NameVariant; value: TokenShape; quote: boolean }
  | { jar: TokenRef }
  | { raw: string };

function cookiePartArb(target: Target, focus: Strategy): fc.Arbitrary<CookiePart> {
  const own: CookieKind = focus === "id" ? "session" : focus === "jwt" ? "jwt" : "access";
  const named = fc
    .oneof(
      { weight: 3, arbitrary: fc.constant(own) },
      pick<CookieKind | "other">("session", "jwt", "access", "refresh", "csrf", "other"),
    )
    .chain((kind) =>
      fc.record({
        kind: fc.constant(kind),
        variant: mostly<NameVariant>("exact", ...NAME_VARIANTS),
        value: tokenArb(target, { ...COOKIE_BIAS[kind], transport: "cookie" }),
        quote: rare(8),
      }),
    );
  const raw = fc.oneof(pick("=", "a", ";", "x=y=z", "=v", " ", "__Host-sid", "a=b,c=d"), junk);
  // A browser's jar: every cookie its sign-in set, as the browser sends them back.
  const jar = refArb(target, { strategy: focus, transport: "cookie" }).map(
    (ref): CookiePart => ({ jar: ref }),
  );
  return fc.oneof(
    { weight: 6, arbitrary: jar },
    { weight: 8, arbitrary: named },
    raw.map((r): CookiePart => ({ raw: r })),
  );
}

export type AuthShape =
  | { scheme: string; gap: string; token: TokenShape; tail: string }
  | { raw: string };
function authArb(target: Target, focus: Strategy): fc.Arbitrary<AuthShape> {
  const shaped = fc.record({
    scheme: mostly("Bearer", "bearer", "BEARER", "Basic", "Token", ""),
    gap: mostly(" ", "  ", "\t", ""),
    token: tokenArb(target, { strategy: focus, slot: "token", transport: "header" }),
    tail: mostly("", " ", ",", ", Bearer x", "="),
  });
  return fc.oneof(
    { weight: 8, arbitrary: shaped },
    junk.map((raw): AuthShape => ({ raw })),
  );
}

export type PathShape = {
  param: Param;
  tweak: string;
  swap: string;
  query: TokenShape | string | null;
};
export type Param =
  | { session: "attacker" | "victim"; ref: TokenRef }
  | { lit: string }
  | { text: string };
function pathArb(target: Target, focus: Strategy): fc.Arbitrary<PathShape> {
  const param = fc.oneof(
    {
      weight: 4,
      arbitrary: fc.record({
        session: pick<"attacker" | "victim">("attacker", "attacker", "victim"),
        ref: refArb(target, { strategy: focus }),
      }),
    },
    { weight: 2, arbitrary: pick("index.js", "storage.js").map((lit): Param => ({ lit })) },
    { weight: 2, arbitrary: pick(...HOSTILE_SEGMENTS).map((lit): Param => ({ lit })) },
    junk.map((text): Param => ({ text })),
  );
  return fc.record({
    param,
    tweak: mostly("none", "slash", "double", "upper", "encode", "dot", "semicolon", "swap"),
    swap: pick(...target.strategies, ...PROTO, "ID", "", "%69d"),
    query: fc.oneof(
      { weight: 12, arbitrary: fc.constant(null) },
      tokenArb(target, { strategy: focus }),
      junk,
    ),
  });
}

export interface RequestShape {
  route: { method: string; path: string };
  method: string;
  path: PathShape;
  cookies: CookiePart[][];
  auth: AuthShape[];
  site: string | null;
  origin: string | null;
  csrf: TokenShape | null;
  contentType: string | null;
  contentLength: string;
  body: Body | null;
  extra: Array<[string, string]>;
}

/** A live token of the run, for hand-written shapes. */
export const live = (
  strategy: Strategy,
  slot: TokenRef["slot"] = "token",
  transport: TokenRef["transport"] = "cookie",
): TokenRef => ({ strategy, slot, transport, age: "live" });
export const bearer = (ref: TokenRef): AuthShape => ({
  scheme: "Bearer",
  gap: " ",
  token: { ref },
  tail: "",
});

/** A plain, well-formed request to `path`, with `parts` instead of the defaults. */
export function plainRequest(
  method: string,
  path: string,
  parts: Partial<RequestShape> = {},
): RequestShape {
  return {
    route: { method, path },
    method,
    path: { param: { lit: "" }, tweak: "none", swap: "id", query: null },
    cookies: [],
    auth: [],
    site: null,
    origin: null,
    csrf: null,
    contentType: "application/json",
    contentLength: "auto",
    body: null,
    extra: [],
    ...parts,
  };
}

export const strategyOfPath = (path: string): Strategy | null =>
  (/^\/api\/(id|jwt|hybrid)\//.exec(path)?.[1] as Strategy | undefined) ?? null;

/** One request to the target, shaped after one of its routes; `focus` biases the tokens. */
export function requestArb(target: Target, focus?: Strategy): fc.Arbitrary<RequestShape> {
  // Mostly the API, where sessions are read and changed; the pages and assets too.
  const api = target.routes.filter((r) => r.path.startsWith("/api/"));
  const route =
    api.length > 0
      ? fc.oneof({ weight: 3, arbitrary: pick(...api) }, pick(...target.routes))
      : pick(...target.routes);
  return route.chain((route) => {
    const s = focus ?? strategyOfPath(route.path) ?? target.strategies[0] ?? "id";
    const cookieHeader = fc.array(cookiePartArb(target, s), { minLength: 1, maxLength: 4 });
    return fc.record({
      route: fc.constant(route),
      method: fc.oneof(
        { weight: 9, arbitrary: fc.constant(route.method) },
        pick("GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "PROPFIND"),
      ),
      path: pathArb(target, s),
      cookies: fc.oneof(
        { weight: 6, arbitrary: cookieHeader.map((c) => [c]) },
        fc.constant<CookiePart[][]>([]),
        fc.array(cookieHeader, { minLength: 2, maxLength: 2 }),
      ),
      auth: fc.oneof(
        { weight: 5, arbitrary: fc.constant<AuthShape[]>([]) },
        { weight: 4, arbitrary: authArb(target, s).map((a) => [a]) },
        fc.array(authArb(target, s), { minLength: 2, maxLength: 2 }),
      ),
      site: pick(
        null,
        null,
        null,
        "same-origin",
        "same-origin",
        "same-site",
        "cross-site",
        "none",
        "Same-Origin",
        "same-origin, cross-site",
      ),
      origin: pick(
        null,
        "allowed",
        "allowed",
        "null",
        "https://evil.example",
        "allowed/",
        "ALLOWED",
        "allowed:1",
        "allowed.evil.example",
      ),
      csrf: fc.option(tokenArb(target, { strategy: s, slot: "csrf" }), { freq: 3 }),
      contentType: pick(
        "application/json",
        "application/json",
        "application/json",
        "application/json",
        "application/json; charset=utf-8",
        "Application/JSON",
        "application/json;charset=utf-16",
        "application/problem+json",
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/json, text/html",
        null,
      ),
      contentLength: pick(
        "auto",
        "auto",
        "auto",
        "auto",
        "auto",
        "auto",
        "omit",
        "0",
        "-1",
        "abc",
        "99999999",
      ),
      body: fc.option(bodyArb(target, s, route.path), { freq: 8 }),
      extra: fc.array(
        fc.oneof(
          junk.map((v): [string, string] => ["x-forwarded-for", v]),
          pick("1.2.3.4, 10.0.0.1", "::1", "unknown").map((v): [string, string] => [
            "x-forwarded-for",
            v,
          ]),
          fc
            .oneof(junk, fc.constant("Mozilla/5.0 ".repeat(400)))
            .map((v): [string, string] => ["user-agent", v]),
        ),
        { maxLength: 2 },
      ),
    });
  });
}
