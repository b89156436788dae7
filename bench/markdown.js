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
if (r.scale) {
  const sc = r.scale;
  const pq = (x) => `${x.p50} / ${x.p99}`;
  out.push(
    "## Scale: 1,000,000 sessions",
    "",
    `${n(sc.sessions)} live sessions bulk-loaded into each backend in the store's own format`,
    `(${sc.perUser} per user, a 120-byte browser user agent each, plus one user with 1 session and`,
    "one with 1,000). `store.get` latency by one caller, at 10,000 sessions and again at the full",
    "count; `listUser` for the two listed users; storage per session as the backend reports it",
    "(Redis: `used_memory` growth over the load, index entries included; the memory store: V8",
    "heap growth after a forced collection, with 8 bytes of the benchmark's own id list).",
    "",
  );
  table(
    [
      "backend",
      "get p50 / p99 ms at 10k",
      `get p50 / p99 ms at ${n(sc.sessions)}`,
      "list 1 session p50 ms",
      "list 1,000 sessions p50 ms",
      "bytes per session",
      "measured as",
    ],
    sc.results.map((x) => [
      x.backend,
      pq(x.lookup10k),
      pq(x.lookupFull),
      x.list1.p50,
      x.list1000.p50,
      n(x.bytesPerSession),
      x.measuredAs,
    ]),
  );
  if (sc.peers.length > 0) {
    out.push(
      "express-session's connect-redis on the same Redis with the same count: its minimal record",
      "for a signed-in user, and the same with the user agent and address an application adds to",
      "list devices. It keeps no per-user index, so listing one user's sessions reads all of them",
      "(`store.all()`).",
      "",
    );
    table(
      [
        "store",
        `get p50 / p99 ms at ${n(sc.sessions)}`,
        "list one user's sessions (ms)",
        "bytes per session",
      ],
      sc.peers.map((x) => [
        x.backend,
        pq(x.lookupFull),
        x.listOneUser.p50 ?? `fails: ${x.listOneUser.error}`,
        n(x.bytesPerSession),
      ]),
    );
  }
}
process.stdout.write(`${out.join("\n")}`);
