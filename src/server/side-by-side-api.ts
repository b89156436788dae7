import type { Context, Hono } from "hono";
import { problem } from "../adapters/fetch.js";
import { findAuthCookie } from "../cookies/parse.js";
import type { SessionManager, SessionStore, StrategyName } from "../index.js";
import { decodeJwtUnverified } from "../tokens/index.js";
import { readJsonObject } from "./body.js";
import { type DemoFeed, feedOf } from "./demo-feed.js";
import { type Env, json, tokenCookie } from "./http.js";
import { sidIn } from "./inspect.js";

const NO_STORE = new Headers({ "cache-control": "no-store" });

/** Verifications timed per strategy for the warm median (after as many unmeasured). */
export const WARM_RUNS = 51;

/** How long a revocation waits for the feed to reach the manager before the answer goes. */
const FEED_WAIT_MS = 3000;

/** The `--lab` pause lets go by itself after this long: no one can leave revocations held. */
const PAUSE_LIMIT_MS = 120_000;

export interface SideBySideOptions {
  store: SessionStore;
  /** The `--lab` switch: the change feed's pause exists only with it. */
  lab: boolean;
  /** `revocation.maxLag` of the managers, in ms. */
  maxLag: number;
}

/** The median of some numbers (at least one). */
export const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};

const round1 = (ms: number) => Math.round(ms * 10) / 10;

/**
 * The median time, in µs, of WARM_RUNS read-only verifications of this request, after as
 * many unmeasured: the first verification of a process (or of a key) is many times slower,
 * and one sample says nothing about the steady state.
 */
export async function warmMedian(manager: SessionManager, request: Request): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < WARM_RUNS * 2; i++) {
    const start = performance.now();
    await manager.authenticate(request, { readOnly: true });
    if (i >= WARM_RUNS) samples.push((performance.now() - start) * 1000);
  }
  return round1(median(samples));
}

/**
 * Why a strategy refused a request, said for the person whose browser sent it: the reason
 * the manager gave, with what lies behind it. Reasons that could tell more than the token
 * holder already knows (a wrong secret against an existing id) fold into their neighbour.
 */
const REFUSALS: Partial<Record<string, string>> = {
  missing: "this browser holds no cookie of this strategy",
  expired: "the token has expired",
  unknown_session: "the store lookup found no session with this id (signed out or revoked)",
  bad_secret: "the store lookup found no session with this id (signed out or revoked)",
  revoked:
    "the session id is in this instance's in-memory revocation set, which the store's change feed fills",
  revocation_stale:
    "this instance failed closed: the change feed has been silent for longer than maxLag, so a revocation could be missing, and every token of this strategy is refused (503) until it catches up",
};

/** The reason the page names: a wrong secret is a missing session to the reader, unknown ones "invalid". */
const shownReason = (reason: string) =>
  reason === "bad_secret" ? "unknown_session" : REFUSALS[reason] ? reason : "invalid";

/** The session id a JWT names, read without trusting it: only to look up this demo's own notes. */
const sidOf = (token: string | null): string | null => {
  const sid = token ? sidIn(decodeJwtUnverified(token)?.claims) : undefined;
  return typeof sid === "string" ? sid : null;
};

/**
 * The side-by-side page's API: a revocation that says when the change feed reached the manager, a check that says
 * how a strategy refused, and (with `--lab` only) the switch that holds the `jwt` feed back.
 */
export function mountSideBySideApi(
  app: Hono<Env>,
  managers: Partial<Record<StrategyName, SessionManager>>,
  options: SideBySideOptions,
) {
  // The strategy comes from the request: a Map has no "__proto__" or "toString" entry.
  const byName = new Map<unknown, SessionManager>(Object.entries(managers));
  // When this page revoked a session (performance.now()), to measure the feed against.
  const revokedAt = new Map<string, number>();
  const jwtFeed = feedOf(managers.jwt);
  const csrfGate = managers.id ?? Object.values(managers)[0];

  /** The token a strategy's cookie carries, as the manager reads it. */
  const tokenOf = (c: Context<Env>, manager: SessionManager) => {
    const found = findAuthCookie(c.req.header("cookie"), tokenCookie(manager));
    return found.status === "found" ? found.value : null;
  };

  /** What the feed did with one revocation: heard after so long, held, or not yet. */
  const feedNote = (feed: DemoFeed | null, sid: string | null) => {
    if (!feed || !sid) return null;
    const at = revokedAt.get(sid);
    const heard = feed.heardAt(sid);
    if (at === undefined) return null;
    if (heard !== null) return { heardAfterMs: round1(Math.max(0, heard - at)) };
    return { heardAfterMs: null, held: feed.pausedSince() !== null };
  };

  // Revokes the session this request carries for one strategy, leaving its cookies in place,
  // so that the next request shows what the revocation does; says when the feed told the
  // strategy's manager (jwt, hybrid) and, for hybrid, that the refresh family is gone.
  app.post("/api/strategies/revoke", async (c) => {
    if (csrfGate && !csrfGate.checkCsrf(c.req.raw, null)) {
      return problem(403, "csrf_failed", "Cross-site request refused");
    }
    const body = await readJsonObject(c.req.raw);
    if (!body.ok) return body.response;
    const strategy = body.value.strategy;
    const manager = byName.get(strategy);
    if (!manager) return problem(400, "invalid_strategy", "strategy is id, jwt or hybrid");
    const result = await manager.authenticate(c.req.raw, { readOnly: true });
    if (!result.session) return problem(401, "unauthorized", "Not signed in with that strategy");
    const id = result.session.id;
    const at = performance.now();
    revokedAt.set(id, at);
    if (revokedAt.size > 1000) revokedAt.delete(revokedAt.keys().next().value as string);
    await manager.revoke(id);
    const feed = feedOf(manager);
    if (feed && feed.pausedSince() === null) {
      const deadline = at + FEED_WAIT_MS;
      while (feed.heardAt(id) === null && performance.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
    }
    const family =
      strategy === "hybrid" ? { gone: (await options.store.get(id, Date.now())) === null } : null;
    return json({ revoked: id, strategy, feed: feedNote(feed, id), family }, 200, NO_STORE);
  });

  // How the strategy answers this browser's next request, and why: the manager's reason,
  // read only (a refusal here clears no cookie, so the experiment can go on).
  app.get("/api/strategies/check", async (c) => {
    const strategy = c.req.query("strategy");
    const manager = byName.get(strategy);
    if (!manager || strategy === undefined) {
      return problem(400, "invalid_strategy", "strategy is id, jwt or hybrid");
    }
    const name = manager.strategy;
    const result = await manager.authenticate(c.req.raw, { readOnly: true });
    const feed = feedOf(manager);
    const sid = name === "id" ? null : sidOf(tokenOf(c, manager));
    const note = feedNote(feed, sid);
    if (result.session) {
      return json(
        { strategy, status: 200, accepted: true, revokedHere: note !== null, feed: note },
        200,
        NO_STORE,
      );
    }
    const reason = result.failure.reason;
    const family =
      name === "hybrid" && sid && revokedAt.has(sid)
        ? { gone: (await options.store.get(sid, Date.now())) === null }
        : null;
    return json(
      {
        strategy,
        status: result.failure.status,
        accepted: false,
        reason: shownReason(reason),
        explanation: REFUSALS[reason] ?? "the token is not valid here",
        feed: note,
        family,
      },
      200,
      NO_STORE,
    );
  });

  // The state of the jwt manager's feed; with --lab, the switch that holds it back.
  let autoResume: ReturnType<typeof setTimeout> | null = null;
  const feedState = () => {
    const since = jwtFeed?.pausedSince() ?? null;
    const pausedForMs = since === null ? null : Math.round(performance.now() - since);
    return {
      lab: options.lab,
      maxLagMs: options.maxLag,
      paused: since !== null,
      pausedForMs,
      // Wall-clock moment the jwt verifier fails closed (feed lag past maxLag).
      failsClosedAt: since === null ? null : Date.now() - (pausedForMs ?? 0) + options.maxLag,
      failedClosed: pausedForMs !== null && pausedForMs > options.maxLag,
      held: jwtFeed?.held() ?? 0,
      pauseLimitMs: PAUSE_LIMIT_MS,
    };
  };
  app.get("/api/strategies/feed", () => json(feedState(), 200, NO_STORE));
  /** Whether the request carries a user's session of any strategy. */
  const anySession = async (request: Request) => {
    for (const manager of byName.values()) {
      const { session } = await manager.authenticate(request, { readOnly: true });
      if (session && session.userId !== null) return true;
    }
    return false;
  };
  if (!options.lab || !jwtFeed) return;
  app.post("/api/strategies/feed", async (c) => {
    if (csrfGate && !csrfGate.checkCsrf(c.req.raw, null)) {
      return problem(403, "csrf_failed", "Cross-site request refused");
    }
    const body = await readJsonObject(c.req.raw);
    if (!body.ok) return body.response;
    if (typeof body.value.paused !== "boolean") {
      return problem(400, "invalid_paused", "paused is true or false");
    }
    if (!body.value.paused) {
      // Letting revocations flow is always safe: anyone may.
      if (autoResume) clearTimeout(autoResume);
      autoResume = null;
      jwtFeed.setPaused(false);
      return json(feedState(), 200, NO_STORE);
    }
    // Holding them back is for everyone on this server: only a signed-in person may, and the
    // limit runs from the first pause (pausing again does not push the resume back).
    if (!(await anySession(c.req.raw))) {
      return problem(401, "unauthorized", "Sign in to pause the change feed");
    }
    if (jwtFeed.pausedSince() === null) {
      jwtFeed.setPaused(true);
      autoResume = setTimeout(() => {
        autoResume = null;
        jwtFeed.setPaused(false);
      }, PAUSE_LIMIT_MS);
      autoResume.unref?.();
    }
    return json(feedState(), 200, NO_STORE);
  });
}
