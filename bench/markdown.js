// Renders bench/results/latest.json as the tables of docs/benchmarks.md:
//   node bench/markdown.js > docs/benchmarks.md
import { readFileSync } from "node:fs";

const r = JSON.parse(readFileSync(new URL("./results/latest.json", import.meta.url), "utf8"));
const out = [];
const table = (head, rows) => {
  out.push(`| ${head.join(" | ")} |`, `|${head.map(() => "---").join("|")}|`);
  for (const row of rows) out.push(`| ${row.join(" | ")} |`);
  out.push("");
};
const n = (x) => x.toLocaleString("en-US");
const target = (t) => (t ? `≥ ${t}` : "for scale");
const met = (x) => (x.target ? (x.met ? "yes" : "**no**") : "");

out.push(
  "# Benchmarks",
  "",
  "Every figure here comes from one run of `npm run bench`, written to",
  "`bench/results/latest.json` and rendered by `node bench/markdown.js`. Peers run in the same",
  "run on the same machine; compare ratios, not absolute numbers, across machines.",
  "",
  `Run of ${r.date}: Node ${r.node}, ${r.cpus} cores (${r.cpu}); HTTP: autocannon, ${r.settings.connections}`,
  `connections, ${r.settings.passes} passes of ${r.settings.duration} s per server, median pass shown; every`,
  "server runs in its own process on 127.0.0.1 and every request is an authenticated `GET /me`.",
  "",
  "## HTTP throughput",
  "",
);
table(
  ["server", "req/s (median)", "passes", "p99 latency (ms)"],
  r.http.map((h) => [h.label, n(h.rps), h.passes.map(n).join(" / "), h.p99ms]),
);
out.push("## Ratios against the targets", "");
table(
  ["ratio", "measured", "target", "met"],
  r.ratios.map((x) => [x.name, x.value.toFixed(2), target(x.target), met(x)]),
);
out.push(
  "## JWT sign and verify",
  "",
  "Time per operation in one process, the same HS256 token and claims checks for each library.",
  "",
);
table(
  ["operation", "µs/op", "ops/s"],
  r.jwt.map((m) => [m.name, m.usPerOp, n(m.opsPerSec)]),
);
table(
  ["speed-up (peer time / ours)", "measured", "target", "met"],
  r.jwtRatios.map((x) => [x.name, x.value.toFixed(2), target(x.target), met(x)]),
);
out.push("## Session operations", "");
table(
  ["operation", "µs/op", "ops/s"],
  r.micro.map((m) => [m.name, m.usPerOp, n(m.opsPerSec)]),
);
out.push(
  "## Revocation propagation",
  "",
  "Two store instances on one backend, as two processes would open them, each with its own",
  "`jwt` manager; revocations through one, each timed until the other refuses the token.",
  "SQLite's feed is a log polled every 50 ms; PostgreSQL's is LISTEN/NOTIFY; Redis's is",
  "pub/sub (sharded in a Cluster) over a log read every second.",
  "",
);
table(
  ["backend", "revocations", "p50 (ms)", "p99 (ms)", "max (ms)"],
  r.revocation.map((v) => [v.store, v.count, v.p50ms, v.p99ms, v.maxms]),
);
process.stdout.write(`${out.join("\n")}`);
