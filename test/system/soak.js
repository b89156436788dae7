#!/usr/bin/env node
// `npm run soak -- --minutes N [--store postgres|redis|cluster ...] [--sequential]`
//
// The suite's adversarial properties, run for longer: per shared store, the model-based
// property (every variant, half of the minutes) and then the multi-process history checker
// (the other half); and once, the request fuzzer with many more runs. Stores run side by side
// unless --sequential. Prints one line per part and exits 1 if any part found a violation.
// Redis Cluster needs SESSIONKIT_TEST_REDIS_CLUSTER (see .ci/redis-cluster.sh).
import { spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";

const USAGE =
  "usage: npm run soak -- [--minutes N] [--store postgres|redis|cluster ...] [--sequential] [--fuzz-runs N]";
let parsed;
try {
  parsed = parseArgs({
    options: {
      minutes: { type: "string", default: "30" },
      store: { type: "string", multiple: true },
      sequential: { type: "boolean", default: false },
      "fuzz-runs": { type: "string", default: "5000" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
} catch (error) {
  console.error(`${error.message}\n${USAGE}`);
  process.exit(2);
}
const { values } = parsed;
if (values.help) {
  console.log(`${USAGE}
Defaults: --minutes 30, --fuzz-runs 5000, stores postgres and redis, and cluster when
SESSIONKIT_TEST_REDIS_CLUSTER is set (.ci/redis-cluster.sh start DIR prints it). Needs
PostgreSQL on 127.0.0.1:5432 (database test) and Redis on 127.0.0.1:6379.
Per store, half of the minutes for the model-based property and half for the history checker;
the stores side by side unless --sequential; the request fuzzer once, with --fuzz-runs runs per
target. Every part's whole output goes to test-results/. Exits 1 on any violation, and when a
part ran no test (a service that could not be reached counts as a failure, not a skip).`);
  process.exit(0);
}
const minutes = Number(values.minutes);
if (!(minutes > 0)) {
  console.error("--minutes: a positive number");
  process.exit(2);
}
const cluster = process.env.SESSIONKIT_TEST_REDIS_CLUSTER;
const stores = values.store ?? ["postgres", "redis", ...(cluster ? ["cluster"] : [])];
for (const store of stores) {
  if (!["postgres", "redis", "cluster"].includes(store)) {
    console.error(`--store: "${store}" is not postgres, redis or cluster`);
    process.exit(2);
  }
  if (store === "cluster" && !cluster) {
    console.error("--store cluster needs SESSIONKIT_TEST_REDIS_CLUSTER");
    process.exit(2);
  }
}

/** Runs a command, keeps its output, and resolves with its exit code and the output's tail. */
function run(label, argv, env = {}) {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(argv[0], argv.slice(1), {
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    const keep = (d) => {
      output += d.toString();
    };
    child.stdout.on("data", keep);
    child.stderr.on("data", keep);
    child.on("close", (code) => {
      const result = { label, code, seconds: Math.round((Date.now() - started) / 1000), output };
      mkdirSync("test-results", { recursive: true });
      const log = `test-results/soak-${label.replace(/[^\w]+/g, "-")}.log`;
      writeFileSync(log, output);
      console.log(
        `${code === 0 ? "ok  " : "FAIL"} ${label} (${result.seconds} s), output in ${log}`,
      );
      resolve(result);
    });
  });
}

/** A part that skipped its store (service unreachable) proved nothing: count it as failed. */
const ranNothing = (p) =>
  /skipping|No test files found/i.test(p.output) || /(^|\D)0 runs/.test(p.output);
const half = minutes / 2;
async function soakStore(store) {
  // The model runs four variants one after another: each gets a quarter of its half.
  const model = await run(
    `model-based property on ${store}, ${half} min`,
    ["npx", "vitest", "run", `test/stores/model/${store}.test.ts`],
    { SESSIONKIT_MODEL_MINUTES: String(half / 4), SESSIONKIT_MODEL_COMMANDS: "40" },
  );
  const history = await run(`history checker on ${store}, ${half} min`, [
    "node",
    "test/system/history/soak.js",
    "--minutes",
    String(half),
    "--store",
    store,
    // Every history is kept, so that a violation can be read and judged again offline.
    "--history-dir",
    "test-results/histories",
  ]);
  return [model, history];
}

const fuzz = () =>
  run(
    `request fuzzing, ${values["fuzz-runs"]} runs per target`,
    ["npx", "vitest", "run", "test/server/fuzz-requests.test.ts", "test/adapters/fuzz.test.ts"],
    { SESSIONKIT_FUZZ_RUNS: values["fuzz-runs"] },
  );
const parts = [];
if (values.sequential) {
  for (const store of stores) parts.push(...(await soakStore(store)));
  parts.push(await fuzz());
} else {
  const fuzzing = fuzz();
  parts.push(...(await Promise.all(stores.map(soakStore))).flat());
  parts.push(await fuzzing);
}

// The lines worth keeping: run counts, windows, violations.
for (const p of parts) if (p.code === 0 && ranNothing(p)) p.code = 1;
const summary = parts.map((p) => ({
  label: p.label,
  ok: p.code === 0,
  seconds: p.seconds,
  lines: p.output
    .split("\n")
    .filter((l) =>
      /model .*: \d+ runs|counterexample|seed|p50|p99|violation|window|FAIL|Error|passed|failed|skipping/i.test(
        l,
      ),
    )
    .slice(0, 60),
}));
mkdirSync("test-results", { recursive: true });
const file = `test-results/soak-${new Date().toISOString().replace(/[:.]/g, "-")}.json`;
writeFileSync(file, JSON.stringify({ minutes, stores, summary }, null, 2));
for (const part of summary) {
  console.log(`\n== ${part.label}: ${part.ok ? "no violation" : "FAILED"}`);
  for (const line of part.lines) console.log(`   ${line}`);
}
console.log(`\nfull summary: ${file}`);
process.exit(parts.every((p) => p.code === 0) ? 0 : 1);
