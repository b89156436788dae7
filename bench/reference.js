// The reference server as it ships (`sessionkit serve`: SQLite, its default, in a temporary
// directory), pinned to one core like the other servers. One user signs up and signs in once
// per strategy over HTTP, as the demo page does (JSON, same-origin Origin header, cookies);
// then autocannon, from this process on the other core, measures `GET /api/{id,jwt,hybrid}/me`
// with each strategy's cookies and `GET /healthz` on the same process, in interleaved passes.
// The ratio me / healthz is what a signed-in request costs over the cheapest route there is.
//   node bench/reference.js [--passes N] [--duration S] [--connections N] [--warmup S]
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { cpuNote, load, summarize, undisturbed } from "./http.js";
import { pairedRatio } from "./measure.js";
import { describePinning, pinLoadGenerator, spawnServer } from "./pin.js";
import { sameSize } from "./same-request.js";
import { REFERENCE_RATIOS, ratioRow } from "./targets.js";

const CLI = fileURLToPath(new URL("../dist/cli/main.js", import.meta.url));

export const ENDPOINTS = [
  { id: "healthz", label: "GET /healthz", path: "/healthz" },
  { id: "id", label: "GET /api/id/me (session cookie)", path: "/api/id/me", strategy: "id" },
  { id: "jwt", label: "GET /api/jwt/me (jwt cookie)", path: "/api/jwt/me", strategy: "jwt" },
  {
    id: "hybrid",
    label: "GET /api/hybrid/me (access-token cookie)",
    path: "/api/hybrid/me",
    strategy: "hybrid",
  },
];

/** Starts `sessionkit serve` on a free port; resolves once it says where it listens. */
async function startReference(dir) {
  const child = spawnServer(
    [
      CLI,
      "serve",
      "--port",
      "0",
      "--host",
      "127.0.0.1",
      "--database",
      join(dir, "sessionkit.db"),
      "--keys",
      join(dir, "keys.json"),
      // Long enough that no access token lapses during the run (the default is 5 minutes).
      "--access",
      "30m",
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  const output = [];
  child.stderr.on("data", (chunk) => output.push(String(chunk)));
  const base = await new Promise((resolve, reject) => {
    const rl = createInterface({ input: child.stdout });
    rl.on("line", (line) => {
      output.push(`${line}\n`);
      const match = /listening on (http:\/\/\S+)/.exec(line);
      if (match) resolve(match[1]);
    });
    child.once("exit", (code) =>
      reject(new Error(`the reference server exited with ${code}:\n${output.join("")}`)),
    );
  });
  child.stdout.resume();
  return { child, base, output };
}

async function stopReference(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
  await exited;
  clearTimeout(timer);
}

/** The cookies a browser would send to `path`: name=value of those whose Path covers it. */
function cookieHeader(jar, path) {
  return jar
    .filter((c) => path === c.path || path.startsWith(c.path.endsWith("/") ? c.path : `${c.path}/`))
    .map((c) => `${c.name}=${c.value}`)
    .join("; ");
}

function readSetCookies(response) {
  return response.headers.getSetCookie().map((line) => {
    const [pair, ...attributes] = line.split(";");
    const eq = pair.indexOf("=");
    const path = attributes
      .map((a) => a.trim())
      .find((a) => a.toLowerCase().startsWith("path="))
      ?.slice(5);
    return { name: pair.slice(0, eq).trim(), value: pair.slice(eq + 1).trim(), path: path || "/" };
  });
}

async function post(base, path, body) {
  const response = await fetch(base + path, {
    method: "POST",
    headers: { origin: base, "content-type": "application/json", "user-agent": "sessionkit-bench" },
    body: JSON.stringify(body),
  });
  return response;
}

/** Signs a user up, then in once per strategy (cookie transport); the headers of each GET. */
async function signIn(base) {
  const user = { username: "bench-user", password: "bench-password-correct-horse" };
  const created = await post(base, "/api/users", user);
  if (created.status !== 201)
    throw new Error(`sign-up answered ${created.status}: ${await created.text()}`);
  const headers = {};
  for (const endpoint of ENDPOINTS) {
    if (!endpoint.strategy) {
      headers[endpoint.id] = sameSize({ "user-agent": "sessionkit-bench" });
      continue;
    }
    // One browser per strategy: each client holds only the cookies of the strategy it uses.
    const response = await post(base, `/api/${endpoint.strategy}/login`, user);
    if (response.status !== 200) {
      throw new Error(
        `${endpoint.strategy} sign-in answered ${response.status}: ${await response.text()}`,
      );
    }
    const cookie = cookieHeader(readSetCookies(response), endpoint.path);
    if (!cookie) throw new Error(`${endpoint.strategy} sign-in set no cookie for ${endpoint.path}`);
    headers[endpoint.id] = sameSize({ cookie, "user-agent": "sessionkit-bench" });
  }
  return headers;
}

export async function runReference({
  duration = 3,
  passes = 5,
  connections = 10,
  warmup = 1,
  log = (line) => process.stderr.write(`${line}\n`),
} = {}) {
  const dir = mkdtempSync(join(tmpdir(), "sessionkit-bench-reference-"));
  const { child, base, output } = await startReference(dir);
  try {
    const headers = await signIn(base);
    for (const endpoint of ENDPOINTS) {
      const probe = await fetch(base + endpoint.path, { headers: headers[endpoint.id] });
      if (probe.status !== 200) {
        throw new Error(`${endpoint.label} answered ${probe.status}: ${await probe.text()}`);
      }
      const body = await probe.text();
      if (endpoint.strategy && !body.includes('"bench-user"'))
        throw new Error(`${endpoint.label}: not the signed-in user: ${body.slice(0, 200)}`);
    }
    const run = (endpoint, seconds, what, pid) =>
      load({
        url: base + endpoint.path,
        headers: headers[endpoint.id],
        duration: seconds,
        connections,
        what,
        pid,
      });
    // One warm-up per endpoint: the process stays up between passes, so its code stays warm.
    if (warmup > 0)
      for (const endpoint of ENDPOINTS) await run(endpoint, warmup, `${endpoint.label} warm-up`);
    const samples = Object.fromEntries(ENDPOINTS.map((e) => [e.id, []]));
    for (let pass = 0; pass < passes; pass++) {
      const order = pass % 2 ? [...ENDPOINTS].reverse() : ENDPOINTS;
      for (const endpoint of order) {
        const what = `reference ${endpoint.label} pass ${pass + 1}`;
        const sample = await undisturbed(() => run(endpoint, duration, what, child.pid), {
          what,
          log,
        });
        samples[endpoint.id].push(sample);
        const cpu = cpuNote(sample);
        log(
          `  pass ${pass + 1}/${passes} reference ${endpoint.label}: ${Math.round(sample.rps)} req/s, p99 ${sample.p99ms} ms${cpu}`,
        );
      }
    }
    const endpoints = ENDPOINTS.map((e) => ({
      id: e.id,
      label: e.label,
      path: e.path,
      ...summarize(samples[e.id]),
    }));
    const byId = Object.fromEntries(endpoints.map((e) => [e.id, e]));
    const ratios = REFERENCE_RATIOS.map(([name, a, b, target]) =>
      ratioRow(name, pairedRatio(byId[a].passes, byId[b].passes), target, {
        numerator: a,
        denominator: b,
        kind: "reference",
        perCpu:
          byId[a].perCpuPasses && byId[b].perCpuPasses
            ? pairedRatio(byId[a].perCpuPasses, byId[b].perCpuPasses).value
            : null,
      }),
    );
    return {
      command:
        "sessionkit serve --port 0 --host 127.0.0.1 --database <tmp> --keys <tmp> --access 30m",
      store: "sqlite (the default)",
      connections,
      endpoints,
      ratios,
    };
  } catch (error) {
    error.message += `\n--- reference server output ---\n${output.join("")}`;
    throw error;
  } finally {
    await stopReference(child);
    rmSync(dir, { recursive: true, force: true });
  }
}

export function printReference(reference) {
  console.log(
    `\nReference server (sessionkit serve, SQLite), ${reference.connections} connections, median of passes`,
  );
  console.table(
    Object.fromEntries(
      reference.endpoints.map((e) => [
        e.label,
        {
          "req/s": e.rps,
          "min–max": `${e.min}–${e.max}`,
          spread: `${(e.spread * 100).toFixed(1)} %`,
          "p99 ms": e.p99ms,
          "server CPU": e.serverCpu === null ? "-" : `${Math.round(e.serverCpu * 100)} %`,
          "load gen.": e.loaderCpu === null ? "-" : `${Math.round(e.loaderCpu * 100)} %`,
          others: e.foreignCpu === null ? "-" : `${Math.round(e.foreignCpu * 100)} %`,
        },
      ]),
    ),
  );
  console.table(
    Object.fromEntries(
      reference.ratios.map((r) => [
        r.name,
        {
          ratio: r.value.toFixed(3),
          "per-pass range": `${r.lo.toFixed(3)}–${r.hi.toFixed(3)}`,
          target: `≥ ${r.target}`,
          met: r.met ? "yes" : "NO",
          "per server CPU": r.perCpu === null ? "-" : r.perCpu.toFixed(3),
        },
      ]),
    ),
  );
}

if (import.meta.url === `file://${process.argv[1]}`) {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        passes: { type: "string", default: "5" },
        duration: { type: "string", default: "3" },
        connections: { type: "string", default: "10" },
        warmup: { type: "string", default: "1" },
      },
    }));
  } catch (error) {
    console.error(
      `${error.message}\nusage: node bench/reference.js [--passes N] [--duration S] [--connections N] [--warmup S]`,
    );
    process.exit(2);
  }
  const pin = pinLoadGenerator();
  console.error(describePinning(pin));
  const reference = await runReference({
    passes: Number(values.passes),
    duration: Number(values.duration),
    connections: Number(values.connections),
    warmup: Number(values.warmup),
  });
  printReference(reference);
}
