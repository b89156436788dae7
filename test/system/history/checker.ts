import { RETIRED_KEPT } from "../../../src/core/strategies/retired.js";
import type { Fault, History, Op, Strategy } from "./history.js";

/**
 * The offline checker: reads a finished history (nothing else) and lists every violation of
 *
 * - I1: an acknowledged revocation (logout 204, DELETE 204, revoke-all 200, a refresh-token
 *   reuse answered 401) is obeyed by every instance: a request presenting the session that
 *   STARTS later than the revocation's END plus the strategy's bound is refused. The bound of
 *   `id` and of every refresh (both read the store) is 0; that of jwt/hybrid tokens is the
 *   servers' maxLag plus the feed's slack plus scheduling slack.
 * - I2: an acknowledged session (sign-in 200) keeps working on every instance until a
 *   revocation of it was attempted: each request that ENDS before the first such attempt
 *   STARTS is accepted, unless it is excused (503 overlapping a store cut or its recovery, no
 *   answer or 503 overlapping its instance's restart, `session_expired` past the token's exp).
 * - every 5xx other than 503, every 503 outside a cut or restart (but a sign-in's 503 `busy`:
 *   the password-hashing gate shedding load), every request without an answer outside its
 *   instance's restart;
 * - a replaced refresh token accepted when presented past the grace window.
 *
 * It also measures the revocation window: per acknowledged revocation, the time from its end
 * to the start of the last request that was still accepted (0 if none was).
 */
export interface CheckerOptions {
  /** Scheduling slack added to the jwt/hybrid bound (a loaded 2-core machine). Default 250. */
  schedulingSlackMs?: number;
  /** A 503 is excused this long after a cut ends (reconnection). Default 3000. */
  recoveryMs?: number;
  /** No answer or 503 from a restarted instance is excused this long after it listens. Default 1000. */
  restartMs?: number;
  /**
   * How long a request left without an answer may still run on the server: the client's
   * connection was reset, not the server's work, which goes on until the store's own deadline
   * (2 s by default). Default 3000.
   */
  inFlightMs?: number;
}

export type ViolationKind = "I1" | "I2" | "5xx" | "unavailable" | "no-answer" | "reuse-accepted";

export interface Violation {
  kind: ViolationKind;
  message: string;
  op: Op;
  /** I1: the acknowledged revocation the request came after. */
  cause?: Op;
  /** I1: how long after the revocation ended the accepted request started. */
  lateMs?: number;
}

export interface WindowStats {
  /** Acknowledged revocations measured. */
  count: number;
  p50: number;
  p99: number;
  max: number;
  boundMs: number;
}

export interface CheckResult {
  violations: Violation[];
  windows: Record<Strategy, WindowStats>;
  /** The revocations outlived longest (the request accepted last after each), longest first. */
  slowest: Array<{ revocation: Op; request: Op; lateMs: number }>;
  /** Per cut: how long after the store came back the last 503 was still answered. */
  recoveries: Array<{ start: number; end: number; unavailable: number; recoveredAfterMs: number }>;
}

interface SessionFacts {
  login: Op;
  /** The earliest acknowledged revocation (its op; its end is the reference time). */
  ack: Op | null;
  /** Start of the earliest revocation attempt, acknowledged or not. */
  doubt: number;
}

const is4xx = (op: Op) => op.status !== null && op.status >= 400 && op.status < 500;
const overlaps = (op: Op, from: number, to: number) => op.start <= to && op.end >= from;

/** Whether the request got past authentication with the session it presented. */
export function accepted(op: Op): boolean {
  if (op.status === null) return false;
  if (op.kind === "delete" && op.status === 404) return true; // caller in, target not found
  return op.status >= 200 && op.status < 300;
}

export function boundsFor(history: History, options: CheckerOptions = {}) {
  const { maxLagMs, feedSlackMs, idCacheMs = 0 } = history.meta;
  const slack = options.schedulingSlackMs ?? 250;
  const tokenBound = maxLagMs + feedSlackMs + slack;
  // id: at once without the local cache; with it, within its age (the feed usually drops the
  // entry sooner, and the measured window shows by how much).
  const id = idCacheMs > 0 ? idCacheMs + slack : 0;
  return { id, jwt: tokenBound, hybrid: tokenBound } satisfies Record<Strategy, number>;
}

export function check(history: History, options: CheckerOptions = {}): CheckResult {
  const recoveryMs = options.recoveryMs ?? 3000;
  const restartMs = options.restartMs ?? 1000;
  const inFlightMs = options.inFlightMs ?? 3000;
  /** Until when an operation may take effect: its answer, or for no answer the server's deadline. */
  const effectEnd = (op: Op) => (op.status === null ? op.end + inFlightMs : op.end);
  const bounds = boundsFor(history, options);
  const { graceMs } = history.meta;
  const ops = history.entries.filter((e): e is Op => e.type === "op");
  ops.sort((a, b) => a.start - b.start);
  const faults = history.entries.filter((e): e is Fault => e.type === "fault");
  const cuts = faults.filter((f) => f.kind === "cut");
  const kills = faults.filter((f) => f.kind === "kill");
  const violations: Violation[] = [];

  const sessions = new Map<string, SessionFacts>();
  /** Sessions per user and strategy, for revoke-all. */
  const families = new Map<string, Array<[string, SessionFacts]>>();
  for (const op of ops) {
    if (op.kind !== "login" || op.status !== 200 || !op.created) continue;
    const facts = { login: op, ack: null, doubt: Number.POSITIVE_INFINITY };
    sessions.set(op.created, facts);
    const family = `${op.user}/${op.strategy}`;
    const members = families.get(family) ?? [];
    members.push([op.created, facts]);
    families.set(family, members);
  }
  const attempt = (id: string | undefined | null, op: Op, acknowledged: boolean) => {
    const s = id ? sessions.get(id) : undefined;
    if (!s) return;
    s.doubt = Math.min(s.doubt, op.start);
    if (acknowledged && (!s.ack || op.end < s.ack.end)) s.ack = op;
  };
  // Which refresh answered 200 for each refresh token (the rotation that replaced it), and
  // the first time each was presented.
  const rotation = new Map<string, Op>();
  const firstPresented = new Map<string, number>();
  for (const op of ops) {
    if (op.kind !== "refresh" || !op.refreshIn) continue;
    if (!firstPresented.has(op.refreshIn)) firstPresented.set(op.refreshIn, op.start);
    if (op.status === 200 && !rotation.has(op.refreshIn)) rotation.set(op.refreshIn, op);
  }

  /** The rotations that had replaced the presented refresh token when it came back, in order. */
  const rotationsSince = (op: Op) => {
    const out: Op[] = [];
    let r = op.refreshIn ? rotation.get(op.refreshIn) : undefined;
    while (r && r.end < op.start) {
      out.push(r);
      r = r.refreshOut ? rotation.get(r.refreshOut) : undefined;
    }
    return out;
  };
  const generationsBack = (op: Op) => rotationsSince(op).length;

  for (const op of ops) {
    switch (op.kind) {
      case "logout":
        attempt(op.session, op, op.status === 204);
        break;
      case "delete":
        if (!is4xx(op)) attempt(op.target, op, op.status === 204);
        break;
      case "revoke-all": {
        if (is4xx(op)) break;
        for (const [id, s] of families.get(`${op.user}/${op.strategy}`) ?? []) {
          if (op.exceptCurrent && id === op.session) continue;
          if (s.login.start >= effectEnd(op)) continue; // signed in after it: untouched
          // Sessions whose sign-in overlaps the revoke-all may or may not be revoked.
          attempt(id, op, op.status === 200 && s.login.end < op.start);
        }
        break;
      }
      case "reuse": {
        const replaced = op.refreshIn ? rotation.get(op.refreshIn) : undefined;
        const pastGrace = replaced !== undefined && op.start > replaced.end + graceMs;
        if (op.status === 200 && pastGrace) {
          violations.push({
            kind: "reuse-accepted",
            message: `a refresh token replaced ${Math.round(op.start - (replaced?.end ?? 0))} ms earlier (grace ${graceMs} ms, ${generationsBack(op)} generation(s) back) was accepted again`,
            op,
            ...(replaced ? { cause: replaced } : {}),
          });
        }
        // The library owes a revocation for a token it still recognises (the previous one
        // and RETIRED_KEPT older ones) presented past every rotation's grace; past its own
        // grace only, or older than that, it may revoke or merely refuse.
        const since = rotationsSince(op);
        const owed =
          since.length <= RETIRED_KEPT + 1 && op.start > (since.at(-1)?.end ?? 0) + graceMs;
        attempt(op.session, op, op.status === 401 && pastGrace && owed);
        break;
      }
      case "refresh": {
        // Presenting a token again after its grace may rightly revoke the session.
        const first = op.refreshIn ? firstPresented.get(op.refreshIn) : undefined;
        if (op.retry && first !== undefined && op.end > first + graceMs)
          attempt(op.session, op, false);
        break;
      }
      default:
        break;
    }
  }

  const restartOf = (op: Op) =>
    kills.some((k) => k.instance === op.instance && overlaps(op, k.start, k.end + restartMs));
  const duringCut = (op: Op) => cuts.some((c) => overlaps(op, c.start, c.end + recoveryMs));
  /** Faults answer for an error status: a violation of its own, or excused. */
  const faultVerdict = (op: Op): "ok" | "excused" | "violation" => {
    if (op.status === null) {
      if (restartOf(op)) return "excused";
      violations.push({ kind: "no-answer", message: `no answer: ${op.code ?? "?"}`, op });
      return "violation";
    }
    if (op.status === 503) {
      if (duringCut(op) || restartOf(op)) return "excused";
      // Sign-in sheds load when too many password checks wait: by design, not an outage.
      if (op.kind === "login" && op.code === "busy") return "excused";
      violations.push({ kind: "unavailable", message: "503 outside a store cut or restart", op });
      return "violation";
    }
    if (op.status >= 500) {
      violations.push({ kind: "5xx", message: `answered ${op.status} (${op.code ?? ""})`, op });
      return "violation";
    }
    return "ok";
  };

  const late = new Map<string, { lateMs: number; request: Op; revocation: Op }>();
  for (const op of ops) {
    const verdict = faultVerdict(op);
    const s = op.session ? sessions.get(op.session) : undefined;
    if (!s || !op.session) continue;
    const ok = accepted(op);
    // I1: accepted after an acknowledged revocation.
    if (ok && s.ack && op.start > s.ack.end) {
      const lateMs = op.start - s.ack.end;
      if (lateMs > (late.get(op.session)?.lateMs ?? -1))
        late.set(op.session, { lateMs, request: op, revocation: s.ack });
      const bound = op.kind === "refresh" || op.kind === "reuse" ? 0 : bounds[op.strategy];
      if (lateMs > bound) {
        violations.push({
          kind: "I1",
          message: `${op.kind} accepted ${Math.round(lateMs)} ms after an acknowledged ${s.ack.kind}${s.ack.kind === "reuse" ? ` (of a refresh token ${generationsBack(s.ack)} generation(s) back)` : ""} (bound ${bound} ms)`,
          op,
          cause: s.ack,
          lateMs,
        });
      }
    }
    // I2: refused while nothing had tried to end the session.
    if (ok || verdict !== "ok" || op.kind === "probe" || op.kind === "reuse" || op.retry) continue;
    if (op.end >= s.doubt) continue;
    const expired =
      op.status === 401 &&
      op.code === "session_expired" &&
      op.tokenExp !== undefined &&
      op.wallStart >= op.tokenExp - 1000;
    if (expired) continue;
    violations.push({
      kind: "I2",
      message: `${op.kind} of a live session answered ${op.status} ${op.code ?? ""}`.trim(),
      op,
    });
  }

  const windows = {} as Record<Strategy, WindowStats>;
  for (const strategy of ["id", "jwt", "hybrid"] as const) {
    const values: number[] = [];
    for (const [id, s] of sessions) {
      if (s.ack && s.login.strategy === strategy) values.push(late.get(id)?.lateMs ?? 0);
    }
    windows[strategy] = { ...percentiles(values), count: values.length, boundMs: bounds[strategy] };
  }

  const recoveries = cuts.map((c) => {
    const refused = ops.filter(
      (op) => op.status === 503 && overlaps(op, c.start, c.end + recoveryMs),
    );
    const last = Math.max(c.end, ...refused.map((op) => op.start));
    return {
      start: c.start,
      end: c.end,
      unavailable: refused.length,
      recoveredAfterMs: last - c.end,
    };
  });

  const slowest = [...late.values()].sort((a, b) => b.lateMs - a.lateMs).slice(0, 5);
  return { violations, windows, slowest, recoveries };
}

/** Nearest-rank percentiles (0 for no values). */
export function percentiles(values: number[]) {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)] ?? 0;
  const round = (x: number) => Math.round(x * 10) / 10;
  return { p50: round(at(0.5)), p99: round(at(0.99)), max: round(sorted.at(-1) ?? 0) };
}
