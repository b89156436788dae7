// Renders a results file as docs/benchmarks.md:
//   node bench/markdown.js [bench/results/latest.json] > docs/benchmarks.md
// (`npm run bench -- --save` does this itself.) The chart is the SVG beside the results file;
// "Where the time goes" takes bench/profile.md, written by hand, when there is one.
import { existsSync, readFileSync } from "node:fs";
import { relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { goalsOf, hasTarget } from "./targets.js";

const DOCS = fileURLToPath(new URL("../docs/", import.meta.url));
const PROFILE = fileURLToPath(new URL("./profile.md", import.meta.url));

const n = (x) => (typeof x === "number" ? x.toLocaleString("en-US") : "-");
const pct = (x) => (typeof x === "number" ? `${(x * 100).toFixed(1)} %` : "-");
const ratio = (x) => (typeof x === "number" ? x.toFixed(3) : "-");
const range = (x) => (x.lo !== undefined ? `${ratio(x.lo)}–${ratio(x.hi)}` : "-");
const target = (x) => (hasTarget(x) ? `≥ ${x.target}` : x.target === 0 ? "for scale" : "-");
const met = (x) => (hasTarget(x) ? (x.met ? "yes" : "**no**") : "");
const cpu = (x) => (typeof x === "number" ? `${Math.round(x * 100)} %` : "-");
const CPU_HEAD = ["server CPU", "load generator CPU", "others"];
const cpus = (x) => [cpu(x.serverCpu), cpu(x.loaderCpu), cpu(x.foreignCpu)];

/** How the HTTP figures were taken, in this harness. */
const method = (s) => [
  `HTTP: autocannon, ${s.connections} connections, ${s.passes} passes of ${s.duration} s per server, each`,
  `after ${s.warmup} s of warm-up that is not measured. Passes are interleaved (pass 1 of every`,
  "server, then pass 2, ..., every other pass in reverse order), each on a fresh server process",
  "on 127.0.0.1; every request is an authenticated `GET /me` and must answer 200. A server's",
  "req/s is its median pass, shown with the slowest and fastest pass and the spread",
  "((max − min) / median); a ratio is the median of the per-pass ratios (pass i of one server",
  "over pass i of the other, measured close together), shown with their range. p99 latency is",
  "the median of the passes' p99. Server CPU is the share of its core the server used while",
  "measured: near 100 %, the server, not the load generator, set the pace; load generator CPU",
  "the same for the runner's process; others, the most that other processes and the kernel",
  "took from either core meanwhile (near 0 on a quiet machine); a pass during which they took",
  'more than 15 % of either core is measured again, at most twice. "Per server CPU" is a ratio of',
  "requests per second of the server's own CPU: where the load generator was the limit of the",
  "faster server, it is the fairer reading; the targets are judged on req/s.",
];

/** Results files from before pinning and interleaved passes. */
const legacyMethod = (s) => [
  `HTTP: autocannon, ${s.connections} connections, ${s.passes} passes of ${s.duration} s per server, median`,
  "pass shown; every server runs in its own process on 127.0.0.1 and every request is an",
  "authenticated `GET /me`.",
];

/**
 * The Markdown of `result`. `svg`: the chart's path relative to docs/; `profile`: the text of
 * bench/profile.md, or null.
 */
export function renderMarkdown(
  result,
  { svg = "../bench/results/latest.svg", profile = null } = {},
) {
  const r = result;
  const s = r.settings ?? {};
  const out = [];
  const table = (head, rows) => {
    out.push(`| ${head.join(" | ")} |`, `|${head.map(() => "---").join("|")}|`);
    for (const row of rows) out.push(`| ${row.join(" | ")} |`);
    out.push("");
  };
  const pin = r.pinning;
  const pinning = !pin
    ? "CPU pinning was not recorded for this run."
    : pin.pinned
      ? `Each server under test runs pinned to CPU ${pin.server} and the load generator (autocannon, in the runner's process) to CPU ${pin.loader}, with \`taskset\`, so that neither takes the other's time; the in-process benchmarks (JWT, session operations, scale) run on the load generator's core; PostgreSQL and Redis run unpinned as the machine's services.`
      : `**Not pinned** (${pin.reason}): the servers and the load generator shared the CPUs, which makes the figures noisier.`;

  out.push(
    "# Benchmarks",
    "",
    "Every figure here comes from one run of `npm run bench -- --save`, written to",
    "`bench/results/latest.json` and rendered by `node bench/markdown.js`. Peers run in the same",
    "run on the same machine; compare ratios, not absolute numbers, across machines.",
    "",
    `Run of ${r.date}: Node ${r.node}, ${r.cpus} cores (${r.cpu}). ${pinning}`,
    "",
    ...(r.pinning ? method(s) : legacyMethod(s)),
    "",
  );

  const goals = goalsOf(r);
  out.push(
    "## Goals",
    "",
    `${goals.filter((g) => g.met).length} of ${goals.length} goals met in this run.`,
    "",
    `![Each goal: measured value as a bar, range of the passes, target as a mark](${svg})`,
    "",
  );
  if (r.warnings?.length) {
    out.push("Caveats of this run:", "");
    for (const warning of r.warnings) out.push(`- ${warning}`);
    out.push("");
  }
  table(
    ["goal", "measured", "range", "target", "met"],
    goals.map((g) => [
      g.name,
      g.unit === "B" ? `${n(g.value)} B` : ratio(g.value),
      g.unit === "B" ? "-" : range(g),
      `${g.op === "<=" ? "≤" : "≥"} ${g.target}${g.unit === "B" ? " B" : ""}`,
      g.met ? "yes" : "**no**",
    ]),
  );

  if (r.http?.length) {
    out.push("## HTTP throughput", "");
    table(
      ["server", "req/s (median)", "min–max", "spread", "p99 latency (ms)", ...CPU_HEAD],
      r.http.map((h) => [
        h.label,
        n(h.rps),
        h.min !== undefined ? `${n(h.min)}–${n(h.max)}` : h.passes.map(n).join(" / "),
        pct(h.spread),
        h.p99ms,
        ...cpus(h),
      ]),
    );
    out.push("## Ratios", "");
    table(
      ["ratio", "measured", "per-pass range", "target", "met", "per server CPU"],
      r.ratios.map((x) => [x.name, ratio(x.value), range(x), target(x), met(x), ratio(x.perCpu)]),
    );
  }

  if (r.reference) {
    const ref = r.reference;
    out.push(
      "## Reference server",
      "",
      "`sessionkit serve` as it ships (SQLite in a temporary directory, the default store),",
      "pinned like the other servers. One user signs up and signs in once per strategy over",
      "HTTP, as the demo page does; then each strategy's `GET /api/{strategy}/me` with that",
      `strategy's cookies, and \`GET /healthz\`, on the same process, ${ref.connections} connections, in`,
      "interleaved passes. me / healthz is what a signed-in request costs over the cheapest route.",
      "",
    );
    table(
      ["endpoint", "req/s (median)", "min–max", "spread", "p99 latency (ms)", ...CPU_HEAD],
      ref.endpoints.map((e) => [
        e.label,
        n(e.rps),
        `${n(e.min)}–${n(e.max)}`,
        pct(e.spread),
        e.p99ms,
        ...cpus(e),
      ]),
    );
    table(
      ["ratio", "measured", "per-pass range", "target", "met", "per server CPU"],
      ref.ratios.map((x) => [x.name, ratio(x.value), range(x), target(x), met(x), ratio(x.perCpu)]),
    );
  }

  if (r.jwt?.length) {
    const rounds = r.jwtRatios?.[0]?.rounds;
    out.push(
      "## JWT sign and verify",
      "",
      "Time per operation in one process, the same HS256 token and claims checks for each library" +
        (rounds
          ? `; ${rounds} interleaved rounds, the median round shown, a speed-up is the median of its per-round ratios.`
          : "."),
      "",
    );
    table(
      ["operation", "µs/op (median)", "min–max", "ops/s"],
      r.jwt.map((m) => [
        m.name,
        m.usPerOp,
        m.min !== undefined ? `${m.min}–${m.max}` : "-",
        n(m.opsPerSec),
      ]),
    );
    table(
      ["speed-up (peer time / ours)", "measured", "per-round range", "target", "met"],
      r.jwtRatios.map((x) => [x.name, ratio(x.value), range(x), target(x), met(x)]),
    );
  }

  if (r.micro?.length) {
    out.push("## Session operations", "");
    table(
      ["operation", "µs/op", "ops/s"],
      r.micro.map((m) => [m.name, m.usPerOp, n(m.opsPerSec)]),
    );
  }

  if (r.revocation?.length) {
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
  }

  if (r.scale) {
    const sc = r.scale;
    const pq = (x) => `${x.p50} / ${x.p99}`;
    out.push(
      `## Scale: ${n(sc.sessions)} sessions`,
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

  out.push("## Where the time goes", "");
  out.push(
    profile?.trim()
      ? profile.trim()
      : "_Not written yet: this section shows `bench/profile.md`, a hand-written reading of the profiles, once there is one._",
    "",
  );
  return out.join("\n");
}

/** The chart's path for a results file (its .svg sibling), relative to docs/. */
export function svgPathFor(jsonPath) {
  return relative(DOCS, resolve(jsonPath).replace(/\.json$/, ".svg")).replaceAll("\\", "/");
}

/** bench/profile.md's text, or null. */
export function readProfile() {
  return existsSync(PROFILE) ? readFileSync(PROFILE, "utf8") : null;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const file = process.argv[2] ?? fileURLToPath(new URL("./results/latest.json", import.meta.url));
  const result = JSON.parse(readFileSync(file, "utf8"));
  process.stdout.write(renderMarkdown(result, { svg: svgPathFor(file), profile: readProfile() }));
}
