import type fc from "fast-check";
import type { TokenPool } from "./fuzz-pool.js";
import type { RequestShape, Strategy, Target } from "./request-arbitrary.js";
import { describeRequest, type RenderedRequest, short } from "./request-render.js";

/**
 * What the fuzz properties judge a request and its answer by. Each check reads the request as
 * the standards define it (RFC 6265 cookies, RFC 6750 Bearer, the Fetch Metadata and Origin
 * rules), independently of the code under test, and says what is wrong in words.
 */

export interface Answer {
  status: number;
  headers: Headers;
  body: string;
}

/** Runs per property: a few hundred in CI, more for a soak (`SESSIONKIT_FUZZ_RUNS`). */
export const FUZZ_RUNS = Number(process.env.SESSIONKIT_FUZZ_RUNS ?? 0) || 0;
/** A test's time limit for `defaultRuns` runs, scaled to the soak's run count. */
export const fuzzTimeout = (defaultRuns: number, limit: number) =>
  Math.max(limit, Math.ceil((limit * (FUZZ_RUNS || defaultRuns)) / defaultRuns));

/** fast-check's parameters: the run count, and a seed (and path) to replay a reported failure. */
export function fuzzParameters<T = [RequestShape]>(defaultRuns: number): fc.Parameters<T> {
  const seed = process.env.SESSIONKIT_FUZZ_SEED;
  const path = process.env.SESSIONKIT_FUZZ_PATH;
  return {
    numRuns: FUZZ_RUNS || defaultRuns,
    ...(seed ? { seed: Number(seed) } : {}),
    ...(path ? { path } : {}),
  };
}

const values = (r: RenderedRequest, name: string) =>
  r.headers.filter(([k]) => k === name).map(([, v]) => v.trim());
/** A header as `Headers.get` combines repeats. */
export const combined = (r: RenderedRequest, name: string): string | null => {
  const all = values(r, name);
  return all.length === 0 ? null : all.join(name === "cookie" ? "; " : ", ");
};

export const cookieKindOf = (s: Strategy) =>
  s === "id" ? "session" : s === "jwt" ? "jwt" : "access";

/** The values of every cookie called exactly `name` (RFC 6265: trimmed, quotes removed). */
export function cookieValues(r: RenderedRequest, name: string): string[] {
  const out: string[] = [];
  for (const header of values(r, "cookie")) {
    for (const part of header.split(";")) {
      const eq = part.indexOf("=");
      if (eq < 0 || part.slice(0, eq).trim() !== name) continue;
      out.push(
        part
          .slice(eq + 1)
          .trim()
          .replace(/^"(.*)"$/, "$1"),
      );
    }
  }
  return out;
}

export const bearerTokens = (r: RenderedRequest): string[] =>
  values(r, "authorization").flatMap((v) => /^bearer\s+(\S+)\s*$/i.exec(v)?.slice(1) ?? []);

/** Whether the request carries, in the cookie of `s` or as a Bearer token, a live token of `s`. */
export function presentsLive(
  pool: TokenPool,
  target: Target,
  r: RenderedRequest,
  s: Strategy,
): boolean {
  const live = pool.liveTokens(s);
  return [...cookieValues(r, target.cookies[cookieKindOf(s)]), ...bearerTokens(r)].some((t) =>
    live.has(t),
  );
}

/** Whether the request carries a live refresh token: in the refresh cookie or a JSON body. */
export function presentsRefresh(pool: TokenPool, target: Target, r: RenderedRequest): boolean {
  const live = pool.liveRefreshTokens();
  if (cookieValues(r, target.cookies.refresh).some((t) => live.has(t))) return true;
  try {
    const body = JSON.parse(Buffer.from(r.body ?? []).toString("utf8")) as {
      refreshToken?: unknown;
    };
    return typeof body?.refreshToken === "string" && live.has(body.refreshToken);
  } catch {
    return false;
  }
}

/**
 * Whether the request proves a live session of `s` in any way a sign-out may accept: a live
 * token, a live refresh token, a cookie exactly as a live session's sign-in set it, or a token
 * the test signed with the server's key (an expired one names a live session too).
 */
export function presentsCredential(
  pool: TokenPool,
  target: Target,
  r: RenderedRequest,
  s: Strategy,
): boolean {
  if (presentsLive(pool, target, r, s) || (s === "hybrid" && presentsRefresh(pool, target, r)))
    return true;
  const issued = pool.liveCookies(s);
  const pairs = values(r, "cookie").flatMap((h) => h.split(";").map((p) => p.trim()));
  if (pairs.some((p) => issued.has(p))) return true;
  const carried = [...bearerTokens(r), ...cookieValues(r, target.cookies[cookieKindOf(s)])];
  return carried.some((t) => pool.keySigned.has(t));
}

/** Same-origin proof: `Sec-Fetch-Site: same-origin`, the exact allowed `Origin`, or a CSRF token. */
export function sameOriginProof(r: RenderedRequest, target: Target, tokens: Set<string>): boolean {
  const token = combined(r, "x-csrf-token");
  return (
    combined(r, "sec-fetch-site") === "same-origin" ||
    combined(r, "origin") === target.origin ||
    (token !== null && tokens.has(token))
  );
}

/** The CSRF tokens that prove same-origin for the sessions the request's cookies carry. */
export function boundCsrf(pool: TokenPool, r: RenderedRequest): Set<string> {
  const carried = values(r, "cookie").flatMap((h) =>
    h.split(";").map((p) =>
      p
        .slice(p.indexOf("=") + 1)
        .trim()
        .replace(/^"(.*)"$/, "$1"),
    ),
  );
  return pool.csrfBoundTo(carried);
}

export const isUnsafe = (method: string) => !/^(GET|HEAD|OPTIONS|TRACE)$/i.test(method);

/** RFC 9457 with the `code` member the API promises, for every 4xx. */
export function problemViolations(answer: Answer, method: string): string[] {
  if (answer.status < 400 || answer.status >= 500) return [];
  const type = answer.headers.get("content-type") ?? "";
  if (!type.startsWith("application/problem+json"))
    return [
      `${answer.status} with content-type ${JSON.stringify(type)}, not application/problem+json`,
    ];
  if (method.toUpperCase() === "HEAD") return [];
  try {
    const p = JSON.parse(answer.body) as { status?: unknown; code?: unknown; title?: unknown };
    if (p.status === answer.status && typeof p.code === "string" && typeof p.title === "string")
      return [];
  } catch {
    // reported below
  }
  return [
    `${answer.status} problem body without matching status, code and title: ${short(answer.body, 200)}`,
  ];
}

/**
 * Secrets never appear in a response or a log line (secret hashes, password hashes, keys, the
 * password), and tokens never in an error response or a log line, except a token the request
 * put in its own URL (a not-found page may echo the URL; the client knew it already).
 */
export function leakViolations(
  answer: Answer,
  logs: string[],
  secrets: string[],
  tokens: Iterable<string>,
  url = "",
): string[] {
  const out: string[] = [];
  const headers = [...answer.headers].map(([k, v]) => `${k}: ${v}`).join("\n");
  const shown = `${headers}\n${answer.body}`;
  const log = logs.join("\n");
  for (const secret of secrets) {
    if (shown.includes(secret)) out.push(`response shows a secret (${secret.slice(0, 12)}…)`);
    if (log.includes(secret)) out.push(`log shows a secret (${secret.slice(0, 12)}…)`);
  }
  for (const token of tokens) {
    if (token.length < 20 || url.includes(token)) continue;
    if (answer.status >= 400 && shown.includes(token))
      out.push(`error response shows a token (${token.slice(0, 12)}…)`);
    if (log.includes(token)) out.push(`log shows a token (${token.slice(0, 12)}…)`);
  }
  return out;
}

/**
 * The attacker's live sessions and the victim's that are gone after a request. The victim's
 * must never go; the attacker's only on an unsafe request of that strategy that presented one
 * of its credentials with a Bearer header or same-origin proof (sign-out, revocation, sign-in).
 */
export async function endedViolations(
  pool: TokenPool,
  target: Target,
  r: RenderedRequest,
  strategyOfRequest: Strategy | "any" | null,
): Promise<string[]> {
  const out: string[] = [];
  const gone = async (s: Strategy, id: string) => (await pool.manager(s).get(id)) === null;
  for (const v of pool.victimSessions()) {
    if (await gone(v.strategy, v.sessionId)) out.push(`ended the victim's ${v.strategy} session`);
  }
  for (const e of pool.liveSessions()) {
    if (!(await gone(e.strategy, e.sessionId))) continue;
    const allowed =
      isUnsafe(r.method) &&
      (strategyOfRequest === "any" || strategyOfRequest === e.strategy) &&
      presentsCredential(pool, target, r, e.strategy) &&
      (values(r, "authorization").length > 0 || sameOriginProof(r, target, boundCsrf(pool, r)));
    if (!allowed)
      out.push(
        `ended the attacker's ${e.strategy}/${e.sessionId} session without a credential and same-origin proof`,
      );
  }
  return out;
}

/** The failure report: what is wrong, the request, the answer and the log. */
export function report(
  problems: string[],
  r: RenderedRequest,
  answer: Answer,
  logs: string[],
): Error {
  return new Error(
    [
      problems.join("\n"),
      "--- request",
      describeRequest(r),
      `--- answer ${answer.status} ${answer.headers.get("content-type") ?? ""}`,
      short(answer.body, 600),
      ...(logs.length ? ["--- log", ...logs.map((l) => short(l, 600))] : []),
    ].join("\n"),
  );
}
