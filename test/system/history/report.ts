import type { CheckResult, Violation, WindowStats } from "./checker.js";
import type { Entry, History, Op, Strategy } from "./history.js";

export interface Report {
  backend: string;
  seed: number;
  durationMs: number;
  operations: number;
  /** Per operation kind, how many got each status ("none": no answer). */
  outcomes: Record<string, Record<string, number>>;
  faults: Array<{ kind: string; instance?: number; ms: number }>;
  windows: Record<Strategy, WindowStats>;
  recoveries: CheckResult["recoveries"];
  violationCounts: Record<string, number>;
  violationsByStrategy: Record<Strategy, number>;
  /** Distinct sessions with a violation, per kind (one revocation outlived makes many). */
  violatingSessions: Record<string, number>;
  /** The revocations outlived longest (within their bound, or not), with their history. */
  slowest: Array<{ lateMs: number; strategy: Strategy; excerpt: string[] }>;
  /** The first violations, each with the history around it. */
  violations: Array<{ kind: string; message: string; excerpt: string[] }>;
  serverErrors: string[];
}

const short = (id: string | null | undefined) => (id ? id.slice(0, 8) : "-");

/** One history line: times relative to the run's first operation, in ms. */
export function formatOp(op: Op, t0: number): string {
  const t = (x: number) => (x - t0).toFixed(1);
  const extra = [
    op.target ? `target=${short(op.target)}` : "",
    op.exceptCurrent !== undefined ? `exceptCurrent=${op.exceptCurrent}` : "",
    op.refreshIn ? `rt=${op.refreshIn}${op.refreshOut ? `->${op.refreshOut}` : ""}` : "",
    op.retry ? "retry" : "",
    op.created ? `created=${short(op.created)}` : "",
  ]
    .filter(Boolean)
    .join(" ");
  const status =
    op.status === null ? `no answer (${op.code})` : `${op.status}${op.code ? ` ${op.code}` : ""}`;
  return `[${t(op.start)} .. ${t(op.end)}] client ${op.client} ${op.user} ${op.strategy} ${op.kind} on #${op.instance} session=${short(op.session)} ${extra} -> ${status}`.replace(
    /\s+/g,
    " ",
  );
}

const sorted = new WeakMap<History, Op[]>();
function sortedOps(history: History): Op[] {
  let ops = sorted.get(history);
  if (!ops) {
    ops = history.entries.filter((e): e is Op => e.type === "op").sort((a, b) => a.start - b.start);
    sorted.set(history, ops);
  }
  return ops;
}

/** The violating request, its cause, and every operation on the same session (or user). */
export function excerpt(history: History, v: Violation, around = 8): string[] {
  const ops = sortedOps(history);
  const t0 = ops[0]?.start ?? 0;
  const id = v.op.session;
  const related = ops.filter(
    (op) => id !== null && (op.session === id || op.target === id || op.created === id),
  );
  const at = related.indexOf(v.op);
  const window =
    at < 0 ? related.slice(0, around) : related.slice(Math.max(0, at - around), at + 3);
  const faults = history.entries
    .filter((e) => e.type === "fault")
    .map(
      (f) =>
        `fault ${f.kind}${f.instance !== undefined ? ` #${f.instance}` : ""} [${(f.start - t0).toFixed(1)} .. ${(f.end - t0).toFixed(1)}]`,
    );
  return [
    `${v.kind}: ${v.message}`,
    `  request: ${formatOp(v.op, t0)}`,
    ...(v.cause ? [`  after:   ${formatOp(v.cause, t0)}`] : []),
    "  history of the session:",
    ...window.map((op) => `    ${op === v.op ? ">" : " "} ${formatOp(op, t0)}`),
    ...faults.map((f) => `  ${f}`),
  ];
}

export function buildReport(
  run: { history: History; seed: number; serverErrors: string[] },
  result: CheckResult,
  maxViolations = 10,
): Report {
  const { history } = run;
  const ops = history.entries.filter((e): e is Op => e.type === "op");
  const outcomes: Report["outcomes"] = {};
  for (const op of ops) {
    const row = outcomes[op.kind] ?? {};
    outcomes[op.kind] = row;
    const key = op.status === null ? "none" : `${op.status}${op.code ? ` ${op.code}` : ""}`;
    row[key] = (row[key] ?? 0) + 1;
  }
  const violationCounts: Record<string, number> = {};
  const violationsByStrategy: Record<Strategy, number> = { id: 0, jwt: 0, hybrid: 0 };
  const distinct = new Map<string, Set<string | null>>();
  for (const v of result.violations) {
    violationCounts[v.kind] = (violationCounts[v.kind] ?? 0) + 1;
    violationsByStrategy[v.op.strategy]++;
    distinct.set(v.kind, (distinct.get(v.kind) ?? new Set()).add(v.op.session));
  }
  return {
    backend: history.meta.backend,
    seed: run.seed,
    durationMs: history.meta.durationMs,
    operations: ops.length,
    outcomes,
    faults: history.entries
      .filter((e: Entry) => e.type === "fault")
      .map((f) => ({
        kind: f.kind,
        ...(f.instance !== undefined ? { instance: f.instance } : {}),
        ms: Math.round(f.end - f.start),
      })),
    windows: result.windows,
    recoveries: result.recoveries.map((r) => ({
      ...r,
      recoveredAfterMs: Math.round(r.recoveredAfterMs),
    })),
    violationCounts,
    violationsByStrategy,
    violatingSessions: Object.fromEntries([...distinct].map(([k, set]) => [k, set.size])),
    slowest: result.slowest.map((w) => ({
      lateMs: Math.round(w.lateMs * 10) / 10,
      strategy: w.request.strategy,
      excerpt: excerpt(history, {
        kind: "I1",
        message: `accepted ${Math.round(w.lateMs)} ms after the revocation ended`,
        op: w.request,
        cause: w.revocation,
      }),
    })),
    violations: result.violations.slice(0, maxViolations).map((v) => ({
      kind: v.kind,
      message: v.message,
      excerpt: excerpt(history, v),
    })),
    serverErrors: run.serverErrors.slice(0, 20),
  };
}

/** The revocation windows as a table, one row per backend and strategy. */
export function windowTable(reports: Report[]): string {
  const rows = [
    ["backend", "strategy", "revocations", "p50 ms", "p99 ms", "max ms", "bound ms", "violations"],
  ];
  for (const r of reports) {
    for (const [strategy, w] of Object.entries(r.windows) as Array<[Strategy, WindowStats]>) {
      const count = r.violationsByStrategy[strategy];
      rows.push([
        r.backend,
        strategy,
        String(w.count),
        String(w.p50),
        String(w.p99),
        String(w.max),
        String(w.boundMs),
        String(count),
      ]);
    }
  }
  const widths =
    rows[0]?.map((_, c) => Math.max(...rows.map((row) => (row[c] ?? "").length))) ?? [];
  return rows
    .map((row) => row.map((cell, c) => cell.padStart(widths[c] ?? 0)).join("  "))
    .join("\n");
}
