// `npm run bench`: token and JWT micro-benchmarks, revocation propagation, HTTP throughput of
// every framework with and without sessionkit and its peers, the reference server, and the
// 1M-session scale run; printed as tables and judged against the goals of bench/targets.js.
// Results go to bench/results/run.json and run.svg (untracked); with --save, to latest.json
// and latest.svg and docs/benchmarks.md. `npm run bench -- --help` lists the options.
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { DISTURBED, runHttp, selectServers } from "./http.js";
import { runJwt } from "./jwt.js";
import { readProfile, renderMarkdown, svgPathFor } from "./markdown.js";
import { pairedRatio } from "./measure.js";
import { runMicro } from "./micro.js";
import { describePinning, pinLoadGenerator } from "./pin.js";
import { printReference, runReference } from "./reference.js";
import { runRevocations } from "./revocation.js";
import { printScale, runScale } from "./scale.js";
import { renderSvg } from "./svg.js";
import { goalsOf, HTTP_RATIOS, ratioKind, ratioRow } from "./targets.js";

const USAGE = `usage: npm run bench -- [options]
       node --expose-gc bench/run.js [options]

  --duration S        seconds measured per pass, per server (default 3)
  --passes N          passes per server, interleaved across servers (default 5)
  --connections N     autocannon connections for the framework servers (default 50;
                      the reference server is always measured at 10)
  --warmup S          seconds of unmeasured load before each measured pass (default 1)
  --only ID           only the HTTP servers whose id contains ID, with those they are
                      compared with; repeatable. "reference" selects the reference server
  --rounds N          interleaved rounds of the JWT benchmarks (default 7)
  --sessions N        sessions per backend in the scale run (default 1000000)
  --skip-micro        skip the in-process benchmarks (token and session operations,
                      JWT sign and verify, revocation propagation)
  --skip-http         skip the framework servers
  --skip-reference    skip the reference server (sessionkit serve)
  --skip-scale        skip the scale run
  --save              write bench/results/latest.json and latest.svg and regenerate
                      docs/benchmarks.md (without it: bench/results/run.json, run.svg)
  -h, --help          this text

The server under test is pinned to one CPU and this process (the load generator) to
another with taskset; without taskset or a second CPU the run is unpinned and says so.
A pass during which other processes took more than 15 % of either core is measured again,
at most twice; what remains is reported as a warning.
A full run takes about 20-25 minutes on 2 quiet cores: about 13 for HTTP (30 servers and
the reference server), most of the rest for the 1M-session scale run.`;

const options = {
  duration: { type: "string", default: "3" },
  passes: { type: "string", default: "5" },
  connections: { type: "string", default: "50" },
  warmup: { type: "string", default: "1" },
  only: { type: "string", multiple: true, default: [] },
  rounds: { type: "string", default: "7" },
  sessions: { type: "string", default: "1000000" },
  "skip-micro": { type: "boolean", default: false },
  "skip-http": { type: "boolean", default: false },
  "skip-reference": { type: "boolean", default: false },
  "skip-scale": { type: "boolean", default: false },
  save: { type: "boolean", default: false },
  help: { type: "boolean", short: "h", default: false },
};

function usageError(message) {
  console.error(`bench: ${message}\n\n${USAGE}`);
  process.exit(2);
}

let values;
try {
  ({ values } = parseArgs({ options, strict: true, allowPositionals: false }));
} catch (error) {
  usageError(error.message.split("\n")[0]);
}
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
const number = (name, { integer = false, min = 0 } = {}) => {
  const value = Number(values[name]);
  if (!Number.isFinite(value) || value < min || (integer && !Number.isInteger(value)))
    usageError(
      `--${name}: "${values[name]}" is not ${integer ? "an integer" : "a number"} ≥ ${min}`,
    );
  return value;
};
const settings = {
  duration: number("duration", { min: 1, integer: true }),
  passes: number("passes", { min: 1, integer: true }),
  connections: number("connections", { min: 1, integer: true }),
  warmup: number("warmup", { min: 0 }),
  referenceConnections: 10,
  jwtRounds: number("rounds", { min: 1, integer: true }),
  sessions: number("sessions", { min: 1, integer: true }),
  only: values.only,
};
const only = values.only;
const wantReference =
  !values["skip-reference"] && (only.length === 0 || only.some((o) => "reference".includes(o)));
const wantHttp = !values["skip-http"] && (only.length === 0 || selectServers(only).length > 0);
if (only.length > 0 && !wantReference && selectServers(only).length === 0)
  usageError(`--only ${only.join(" --only ")}: no server id contains it`);

const startedAt = Date.now();
const pinning = pinLoadGenerator();
console.error(describePinning(pinning));
{
  const servers = wantHttp ? selectServers(only).length : 0;
  const perPass = settings.duration + settings.warmup + 0.5; // start, probe and stop included
  const minutes =
    (servers * settings.passes * perPass +
      (wantReference ? 4 * (settings.passes * settings.duration + settings.warmup) + 10 : 0)) /
    60;
  if (servers > 0 || wantReference)
    console.error(
      `HTTP: ${servers} servers${wantReference ? " + the reference server" : ""}, ${settings.passes} passes of ${settings.duration} s (+ ${settings.warmup} s warm-up), about ${Math.ceil(minutes)} min`,
    );
}

const table = (rows) => console.table(Object.fromEntries(rows));
const ratioCells = (r, over = "pass") => ({
  ratio: r.value.toFixed(3),
  [`per-${over} range`]: `${r.lo.toFixed(3)}–${r.hi.toFixed(3)}`,
  target: r.target ? `≥ ${r.target}` : r.target === 0 ? "for scale" : "-",
  met: r.met === null ? "-" : r.met ? "yes" : "NO",
});

/** The same ratio on requests per second of server CPU (null where CPU was not read). */
const perCpuRatio = (a, b) =>
  a.perCpuPasses && b.perCpuPasses ? pairedRatio(a.perCpuPasses, b.perCpuPasses).value : null;

let micro = null;
let revocation = null;
let jwt = null;
let jwtRatios = null;
if (!values["skip-micro"]) {
  micro = await runMicro();
  revocation = await runRevocations();
  console.log("\nRevocation propagation between two instances on one backend (jwt verification)");
  table(revocation.map((r) => [r.store, r]));
  ({ rows: jwt, ratios: jwtRatios } = await runJwt({ rounds: settings.jwtRounds }));
  console.log(
    `\nJWT sign and verify (this process, median of ${settings.jwtRounds} interleaved rounds)`,
  );
  table(
    jwt.map((m) => [
      m.name,
      { "µs/op": m.usPerOp, "min–max": `${m.min}–${m.max}`, "ops/s": m.opsPerSec },
    ]),
  );
  console.log("speed-up = peer time / our time, median of the per-round ratios; higher is better");
  table(jwtRatios.map((r) => [r.name, ratioCells(r, "round")]));
  console.log("\nToken and session operations (this process)");
  table(micro.map((m) => [m.name, { "ops/s": m.opsPerSec, "µs/op": m.usPerOp }]));
}

let http = [];
let leftOut = [];
const ratios = [];
if (wantHttp) {
  console.error(
    `HTTP throughput (autocannon, ${settings.connections} connections, 127.0.0.1, ${settings.passes} interleaved passes):`,
  );
  ({ servers: http, leftOut } = await runHttp({
    duration: settings.duration,
    passes: settings.passes,
    connections: settings.connections,
    warmup: settings.warmup,
    only,
  }));
  const byId = Object.fromEntries(http.map((h) => [h.id, h]));
  for (const [name, a, b, target] of HTTP_RATIOS) {
    if (!byId[a] || !byId[b]) continue; // a server that was not in this run
    ratios.push(
      ratioRow(name, pairedRatio(byId[a].passes, byId[b].passes), target, {
        numerator: a,
        denominator: b,
        kind: ratioKind(b, target),
        perCpu: perCpuRatio(byId[a], byId[b]),
      }),
    );
  }
  console.log("\nAuthenticated GET /me, requests per second (median of passes)");
  table(
    http.map((h) => [
      h.label,
      {
        "req/s": h.rps,
        "min–max": `${h.min}–${h.max}`,
        spread: `${(h.spread * 100).toFixed(1)} %`,
        "p99 ms": h.p99ms,
        "server CPU": h.serverCpu === null ? "-" : `${Math.round(h.serverCpu * 100)} %`,
        "load gen.": h.loaderCpu === null ? "-" : `${Math.round(h.loaderCpu * 100)} %`,
        others: h.foreignCpu === null ? "-" : `${Math.round(h.foreignCpu * 100)} %`,
      },
    ]),
  );
  if (ratios.length > 0) {
    console.log("\nRatios (median of the per-pass ratios, same run)");
    table(
      ratios.map((r) => [
        r.name,
        { ...ratioCells(r), "per server CPU": r.perCpu === null ? "-" : r.perCpu.toFixed(3) },
      ]),
    );
  }
}

let reference = null;
if (wantReference) {
  console.error(
    `Reference server (sessionkit serve, ${settings.referenceConnections} connections):`,
  );
  reference = await runReference({
    duration: settings.duration,
    passes: settings.passes,
    connections: settings.referenceConnections,
    warmup: settings.warmup,
  });
  printReference(reference);
}

let scale = null;
if (!values["skip-scale"]) {
  scale = await runScale({ sessions: settings.sessions });
  printScale(scale);
  if (typeof globalThis.gc !== "function")
    console.log("(no memory store row: run with node --expose-gc, as npm run bench does)");
}

// Passes the machine disturbed, and servers that did not set the pace themselves.
const warnings = [];
const measured = [...http, ...(reference?.endpoints ?? [])];
const pct = (x) => `${Math.round(x * 100)} %`;
const busy = measured.filter((h) => h.disturbedPasses > 0);
if (busy.length > 0)
  warnings.push(
    `other processes took more than ${pct(DISTURBED)} of a core in passes of ${busy.length} of ${measured.length} servers, even after measuring them again (${busy.map((h) => `${h.label}: ${h.disturbedPasses} passes`).join("; ")}): rerun on a quiet machine`,
  );
const retried = measured.reduce((sum, h) => sum + (h.retries ?? 0), 0);
if (retried > 0)
  warnings.push(
    `${retried} passes were measured again because other processes took more than ${pct(DISTURBED)} of a core during them`,
  );
const slack = measured.filter(
  (h) => h.serverCpu !== null && h.serverCpu < 0.85 && !h.disturbedPasses,
);
if (slack.length > 0)
  warnings.push(
    `${slack.length} servers used less than 85 % of their core on a quiet machine, so the load generator may have set their pace: ${slack.map((h) => `${h.label} (server ${pct(h.serverCpu)}, load generator ${pct(h.loaderCpu ?? 0)})`).join("; ")}`,
  );
const fed = measured.filter(
  (h) => h.loaderCpu >= 0.9 && h.serverCpu !== null && h.serverCpu < 0.95 && !h.disturbedPasses,
);
if (fed.length > 0)
  warnings.push(
    `the load generator was near its limit (≥ 90 % of its core) while ${fed.length} servers were below 95 % of theirs: their req/s is a floor, and the ratios over them read high; the "per server CPU" column of the ratios corrects for it: ${fed.map((h) => `${h.label} (server ${pct(h.serverCpu)}, load generator ${pct(h.loaderCpu)})`).join("; ")}`,
  );
if (!pinning.pinned) warnings.push(`not pinned: ${pinning.reason}`);
if (leftOut.length > 0) warnings.push(`left out (Redis unreachable): ${leftOut.join(", ")}`);

const result = {
  date: new Date().toISOString(),
  node: process.version,
  cpus: cpus().length,
  cpu: cpus()[0]?.model,
  pinning,
  settings,
  micro,
  revocation,
  jwt,
  jwtRatios,
  http,
  ratios,
  reference,
  scale,
  leftOut,
  warnings,
  elapsedSeconds: Math.round((Date.now() - startedAt) / 1000),
};

const goals = goalsOf(result);
console.log(`\nGoals: ${goals.filter((g) => g.met).length} of ${goals.length} met`);
if (goals.length > 0)
  table(
    goals.map((g) => [
      g.name,
      {
        measured: g.unit === "B" ? `${g.value} B` : g.value.toFixed(3),
        range: g.lo !== undefined ? `${g.lo.toFixed(3)}–${g.hi.toFixed(3)}` : "-",
        target: `${g.op === "<=" ? "≤" : "≥"} ${g.target}${g.unit === "B" ? " B" : ""}`,
        met: g.met ? "yes" : "NO",
      },
    ]),
  );
for (const warning of warnings) console.log(`warning: ${warning}`);

const name = values.save ? "latest" : "run";
const dir = new URL("./results/", import.meta.url);
mkdirSync(dir, { recursive: true });
const jsonPath = fileURLToPath(new URL(`${name}.json`, dir));
const svgPath = fileURLToPath(new URL(`${name}.svg`, dir));
writeFileSync(jsonPath, `${JSON.stringify(result, null, 2)}\n`);
writeFileSync(svgPath, renderSvg(result));
console.log(
  `\nwritten to bench/results/${name}.json and bench/results/${name}.svg (${Math.round(result.elapsedSeconds / 6) / 10} min)`,
);
if (values.save) {
  const docs = fileURLToPath(new URL("../docs/benchmarks.md", import.meta.url));
  writeFileSync(
    docs,
    renderMarkdown(result, { svg: svgPathFor(jsonPath), profile: readProfile() }),
  );
  console.log("docs/benchmarks.md regenerated");
}
process.exit(0);
