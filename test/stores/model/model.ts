import { isSessionError } from "../../../src/index.js";
import { ORIGIN } from "../../helpers/manager.js";
import type { CookieJar } from "./jar.js";
import { LIFETIMES, MAX_LAG, SKEW, type System } from "./system.js";

/**
 * The reference model of sessions: what a correct system must answer. Where timing leaves
 * the answer open (a touch the throttle may have skipped, a token at its skew's edge, an
 * instance without network), the model says "either" and asserts nothing.
 */
export interface ModelSession {
  user: string;
  id: string;
  /** The browser that signed in; revocation checks use a copy taken before any sign-out. */
  jar: CookieJar;
  status: "live" | "revoked" | "unknown";
  createdAt: number;
  /** Bounds of the record's expiry in the store (the touch throttle leaves a window). */
  lo: number;
  hi: number;
  /** The credentials replaced by the last renewal or rotation, and when. */
  old: { jar: CookieJar; replacedAt: number } | null;
  /** Instances allowed to accept a revoked session until their network is restored. */
  lenient: Set<number>;
  fields: Record<string, number>;
}

export interface Model {
  sessions: ModelSession[];
}

export class Violation extends Error {}

export const fail = (invariant: string, detail: string): never => {
  throw new Violation(`${invariant}: ${detail}`);
};

/** Error codes a caller may see from these operations; anything else breaks I6. */
const EXPECTED_CODES = new Set(["STORE_UNAVAILABLE", "SESSION_NOT_FOUND"]);

export type Outcome<T> = { ok: true; value: T } | { ok: false; code: string };

/** Runs one call of the public API; anything thrown that is not a documented code fails I6. */
export async function call<T>(
  sys: System,
  instance: number,
  what: string,
  run: () => Promise<T>,
): Promise<Outcome<T>> {
  try {
    return { ok: true, value: await run() };
  } catch (error) {
    if (!isSessionError(error) || !EXPECTED_CODES.has(error.code)) {
      return fail("I6", `${what} threw ${error instanceof Error ? error.stack : String(error)}`);
    }
    if (error.code === "STORE_UNAVAILABLE" && !sys.isCut(instance)) {
      return fail("I6", `${what} on instance ${instance} (network up) threw STORE_UNAVAILABLE`);
    }
    return { ok: false, code: error.code };
  }
}

const base = "https://app.example";
export const unsafe = { "sec-fetch-site": "same-origin", origin: ORIGIN };

export function request(jar: CookieJar, path: string, method = "GET"): Request {
  const headers = new Headers(method === "GET" ? {} : unsafe);
  const cookie = jar.header(path);
  if (cookie) headers.set("cookie", cookie);
  return new Request(`${base}${path}`, { method, headers });
}

/** The token cookie a strategy authenticates with. */
export const tokenCookie = (sys: System) =>
  sys.manager(0).cookieNames[
    sys.variant.strategy === "id" ? "session" : sys.variant.strategy === "jwt" ? "jwt" : "access"
  ];

/** `exp` of the JWT in the jar, in ms (jwt and hybrid). */
export function tokenExp(sys: System, jar: CookieJar): number {
  const token = jar.get(tokenCookie(sys)) ?? "";
  const payload = token.split(".")[1] ?? "";
  const claims = JSON.parse(Buffer.from(payload, "base64url").toString() || "{}") as {
    exp?: number;
  };
  return (claims.exp ?? 0) * 1000;
}

/** Whether the session must authenticate (true), must not (false), or either (null). */
export function expectAuth(sys: System, s: ModelSession, instance: number): boolean | null {
  const now = sys.clock.now();
  if (s.status === "unknown") return null;
  if (s.status === "revoked") return s.lenient.has(instance % sys.size) ? null : false;
  if (sys.variant.strategy === "id") {
    if (now >= s.hi) return false;
    if (now < s.lo - 1000) return sys.isCut(instance) ? null : true;
    return null;
  }
  const exp = tokenExp(sys, s.jar);
  if (now > exp + SKEW + 1000 || now >= s.hi + SKEW + 1000) return false;
  if (now < exp - 1000 && now < s.lo - 1000) return sys.isCut(instance) ? null : true;
  return null;
}

/** Whether the record is certainly live (true), certainly gone (false), or either. */
export function expectStored(sys: System, s: ModelSession): boolean | null {
  const now = sys.clock.now();
  if (s.status === "unknown") return null;
  if (s.status === "revoked" || now >= s.hi) return false;
  return now < s.lo - 1000 ? true : null;
}

/** Records activity the store saw at `now` (a successful authenticate, refresh or sign-in). */
export function active(sys: System, s: ModelSession, now: number, wrote: boolean): void {
  const abs = s.createdAt + LIFETIMES.absolute;
  const slid = Math.min(now + LIFETIMES.idle, abs);
  if (sys.variant.strategy === "id") {
    // A touch may be skipped when the last one is less than idle/10 old.
    s.lo = Math.max(s.lo, Math.min(now + LIFETIMES.idle - LIFETIMES.idle / 10, abs));
    s.hi = Math.max(s.hi, slid);
  } else if (wrote) {
    s.lo = Math.max(s.lo, slid);
    s.hi = Math.max(s.hi, slid);
  }
}

/** Whether a request with these cookies is refused by the instance right now. */
async function refused(sys: System, instance: number, jar: CookieJar): Promise<boolean> {
  const out = await call(sys, instance, "authenticate", () =>
    sys.manager(instance).authenticate(request(jar, "/api/thing")),
  );
  return !out.ok || out.value.session === null;
}

/**
 * I1: once a revocation is acknowledged, every instance refuses the session (and its
 * replaced credentials) within the bound: at once for `id` without a cache, within
 * `maxLag` (plus the feed's own delivery) otherwise. An instance whose network is cut may
 * serve a cached `id` record until its network returns; it is checked again then.
 */
export async function checkRevoked(sys: System, s: ModelSession, how: string): Promise<void> {
  const immediate = sys.variant.strategy === "id" && !sys.variant.cache;
  const jars = s.old ? [s.jar, s.old.jar] : [s.jar];
  for (let i = 0; i < sys.size; i++) {
    if (sys.isCut(i) && sys.variant.strategy === "id" && sys.variant.cache) {
      s.lenient.add(i);
      continue;
    }
    await refusedWithin(sys, i, jars, immediate ? 0 : MAX_LAG + 500, `${how} of ${s.id}`);
    // The refresh token reads the store on every use: refused at once, everywhere.
    if (sys.variant.strategy === "hybrid" && !sys.isCut(i)) {
      for (const jar of jars) {
        const out = await call(sys, i, "refresh(revoked)", () =>
          sys.manager(i).refresh(request(jar, "/api/hybrid/refresh", "POST")),
        );
        if (out.ok && out.value.session) fail("I1", `${how} of ${s.id}: refreshed on @${i}`);
      }
    }
  }
}

export async function refusedWithin(
  sys: System,
  instance: number,
  jars: CookieJar[],
  bound: number,
  what: string,
): Promise<void> {
  const started = Date.now();
  for (const jar of jars) {
    while (!(await refused(sys, instance, jar))) {
      if (Date.now() - started >= bound) {
        fail(
          "I1",
          `${what}: instance ${instance} still accepts it after ${Date.now() - started} ms`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }
}
