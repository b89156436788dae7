import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { serviceAvailable } from "../../helpers/services.js";
import { check } from "./checker.js";
import type { History } from "./history.js";
import { buildReport, type Report, windowTable } from "./report.js";
import { runHistory } from "./run.js";
import { BACKENDS, type Backend, clusterConfigured } from "./servers.js";

const usage = `usage: soak.js [--minutes N] [--store redis|cluster|postgres]... [--clients N] [--seed N] [--out FILE] [--history-dir DIR]
       soak.js --check HISTORY.json   (judges a saved history again)

  --minutes N        per store (default 5)
  --store NAME       repeatable (default redis, postgres, and cluster when
                     SESSIONKIT_TEST_REDIS_CLUSTER is set; see .ci/redis-cluster.sh)
  --clients N        concurrent clients, 2 or more (default 6)
  --seed N           the workload's seed (default random, printed)
  --out FILE         the report as JSON
  --history-dir DIR  keep every history there, for --check
Needs PostgreSQL on 127.0.0.1:5432 (database test) and, for redis, Redis on 127.0.0.1:6379;
runs the built server (npm run build first).`;

/** Runs the long form once per store; returns the exit code (1 on any violation, 2 on usage). */
export async function main(argv: string[]): Promise<number> {
  let values: ReturnType<typeof parse>["values"];
  try {
    values = parse(argv).values;
  } catch (error) {
    console.error(`${(error as Error).message}\n${usage}`);
    return 2;
  }
  if (values.help) {
    console.log(usage);
    return 0;
  }
  if (values.check) return recheck(values.check);
  const minutes = Number(values.minutes ?? "5");
  const clients = Number(values.clients ?? "6");
  const names = values.store ?? ["redis", "postgres", "cluster"];
  if (!(minutes > 0) || !(clients >= 2) || names.some((n) => !(n in BACKENDS))) {
    console.error(usage);
    return 2;
  }
  const reports: Report[] = [];
  for (const name of names) {
    const backend: Backend = BACKENDS[name as Backend["name"]];
    if (name === "cluster" && !clusterConfigured()) {
      console.error(
        "skipping cluster: SESSIONKIT_TEST_REDIS_CLUSTER is not set (see .ci/redis-cluster.sh)",
      );
      continue;
    }
    const needs = name === "redis" ? [["Redis", 6379] as const] : [];
    const up = await Promise.all(
      [["PostgreSQL", 5432] as const, ...needs].map(([service, port]) =>
        serviceAvailable(service, port),
      ),
    );
    if (up.includes(false)) continue;
    const run = await runHistory({
      backend,
      durationMs: minutes * 60_000,
      clients,
      faults: "cycle",
      pauseMs: 5,
      ...(values.seed ? { seed: Number(values.seed) } : {}),
      log: (line) => console.error(line),
    });
    const result = check(run.history);
    const report = buildReport(run, result, 50);
    reports.push(report);
    if (values["history-dir"]) {
      mkdirSync(values["history-dir"], { recursive: true });
      const file = join(values["history-dir"], `history-${name}-${run.seed}.json`);
      writeFileSync(file, JSON.stringify(run.history));
      console.error(`history written to ${file}`);
    }
    for (const v of report.violations) console.error(v.excerpt.join("\n"));
  }
  const json = JSON.stringify(reports, null, 2);
  if (values.out) writeFileSync(values.out, `${json}\n`);
  else console.log(json);
  console.log(windowTable(reports));
  return reports.some((r) => Object.keys(r.violationCounts).length > 0) ? 1 : 0;
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    options: {
      minutes: { type: "string" },
      store: { type: "string", multiple: true },
      clients: { type: "string" },
      seed: { type: "string" },
      out: { type: "string" },
      "history-dir": { type: "string" },
      check: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
}

/** The offline checker on a history saved by --history-dir: the same report, no servers. */
function recheck(file: string): number {
  const history = JSON.parse(readFileSync(file, "utf8")) as History;
  const report = buildReport({ history, seed: 0, serverErrors: [] }, check(history), 50);
  for (const v of report.violations) console.error(v.excerpt.join("\n"));
  console.log(JSON.stringify({ ...report, violations: undefined, slowest: undefined }, null, 2));
  console.log(windowTable([report]));
  return Object.keys(report.violationCounts).length > 0 ? 1 : 0;
}
