// HTTP throughput: each server runs in its own process on 127.0.0.1, pinned to one core;
// autocannon drives it from this process, pinned to the other. Every request is an
// authenticated GET /me, of the same header size for every server (see same-request.js).
// Passes are interleaved (pass 1 of every server, then pass 2...), each on a fresh server
// process after a warm-up that is not measured.
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import autocannon from "autocannon";
import { reachable } from "./backends.js";
import { median, summary } from "./measure.js";
import {
  coreTimes,
  cpuSeconds,
  foreignShare,
  ownCpuSeconds,
  pinLoadGenerator,
  spawnServer,
} from "./pin.js";
import { sameSize } from "./same-request.js";
import { HTTP_RATIOS } from "./targets.js";

const here = (p) => fileURLToPath(new URL(p, import.meta.url));

export const SERVERS = [
  { id: "node-bare", label: "node:http bare", script: "servers/node-bare.js" },
  {
    id: "node-sessionkit-memory",
    label: "node:http + sessionkit id (memory)",
    script: "servers/node-sessionkit.js",
    args: ["memory"],
  },
  {
    id: "node-sessionkit-sqlite",
    label: "node:http + sessionkit id (SQLite)",
    script: "servers/node-sessionkit.js",
    args: ["sqlite"],
  },
  {
    id: "node-sessionkit-sqlite-cache",
    label: "node:http + sessionkit id (SQLite + 1 s cache)",
    script: "servers/node-sessionkit.js",
    args: ["sqlite-cache"],
  },
  {
    id: "node-sessionkit-jwt",
    label: "node:http + sessionkit jwt",
    script: "servers/node-sessionkit.js",
    args: ["jwt"],
  },
  {
    id: "node-sessionkit-hybrid",
    label: "node:http + sessionkit hybrid (access token)",
    script: "servers/node-sessionkit.js",
    args: ["hybrid"],
  },
  {
    id: "node-sessionkit-redis",
    label: "node:http + sessionkit id (Redis)",
    script: "servers/node-sessionkit.js",
    args: ["redis"],
    needs: "redis",
  },
  {
    id: "node-sessionkit-redis-cache",
    label: "node:http + sessionkit id (Redis + 1 s cache)",
    script: "servers/node-sessionkit.js",
    args: ["redis-cache"],
    needs: "redis",
  },
  { id: "hono-bare", label: "Hono bare", script: "servers/hono-bare.js" },
  {
    id: "hono-layers",
    label: "Hono bare + two no-op layers",
    script: "servers/hono-layers.js",
  },
  { id: "hono-jwt", label: "Hono + hono/jwt", script: "servers/hono-jwt.js" },
  {
    id: "hono-sessionkit-jwt",
    label: "Hono + sessionkit jwt (Bearer)",
    script: "servers/hono-sessionkit.js",
    args: ["jwt"],
  },
  {
    id: "hono-sessionkit-hybrid",
    label: "Hono + sessionkit hybrid (Bearer)",
    script: "servers/hono-sessionkit.js",
    args: ["hybrid"],
  },
  { id: "fastify-bare", label: "Fastify 5 bare", script: "servers/fastify-bare.js" },
  {
    id: "fastify-session",
    label: "Fastify 5 + @fastify/session",
    script: "servers/fastify-session.js",
  },
  {
    id: "fastify-secure-session",
    label: "Fastify 5 + @fastify/secure-session",
    script: "servers/fastify-secure-session.js",
  },
  {
    id: "fastify-sessionkit-memory",
    label: "Fastify 5 + sessionkit id (memory)",
    script: "servers/fastify-sessionkit.js",
    args: ["memory"],
  },
  {
    id: "fastify-sessionkit-sqlite",
    label: "Fastify 5 + sessionkit id (SQLite)",
    script: "servers/fastify-sessionkit.js",
    args: ["sqlite"],
  },
  {
    id: "fastify-sessionkit-sqlite-cache",
    label: "Fastify 5 + sessionkit id (SQLite + 1 s cache)",
    script: "servers/fastify-sessionkit.js",
    args: ["sqlite-cache"],
  },
  {
    id: "fastify-sessionkit-jwt",
    label: "Fastify 5 + sessionkit jwt (Bearer)",
    script: "servers/fastify-sessionkit.js",
    args: ["jwt"],
  },
  {
    id: "fastify-sessionkit-hybrid",
    label: "Fastify 5 + sessionkit hybrid (Bearer)",
    script: "servers/fastify-sessionkit.js",
    args: ["hybrid"],
  },
  { id: "express-bare", label: "Express 5 bare", script: "servers/express-bare.js" },
  {
    id: "express-layers",
    label: "Express 5 bare + two no-op layers",
    script: "servers/express-layers.js",
  },
  {
    id: "express-session",
    label: "Express 5 + express-session (MemoryStore)",
    script: "servers/express-session.js",
  },
  {
    id: "express-session-redis",
    label: "Express 5 + express-session (connect-redis)",
    script: "servers/express-session.js",
    args: ["redis"],
    needs: "redis",
  },
  {
    id: "express-sessionkit-redis",
    label: "Express 5 + sessionkit id (Redis)",
    script: "servers/express-sessionkit.js",
    args: ["redis"],
    needs: "redis",
  },
  {
    id: "express-sessionkit-redis-cache",
    label: "Express 5 + sessionkit id (Redis + 1 s cache)",
    script: "servers/express-sessionkit.js",
    args: ["redis-cache"],
    needs: "redis",
  },
  {
    id: "express-sessionkit-memory",
    label: "Express 5 + sessionkit id (memory)",
    script: "servers/express-sessionkit.js",
    args: ["memory"],
  },
  {
    id: "express-sessionkit-sqlite",
    label: "Express 5 + sessionkit id (SQLite)",
    script: "servers/express-sessionkit.js",
    args: ["sqlite"],
  },
  {
    id: "express-sessionkit-sqlite-cache",
    label: "Express 5 + sessionkit id (SQLite + 1 s cache)",
    script: "servers/express-sessionkit.js",
    args: ["sqlite-cache"],
  },
  {
    id: "express-sessionkit-jwt",
    label: "Express 5 + sessionkit jwt (Bearer)",
    script: "servers/express-sessionkit-bearer.js",
    args: ["jwt"],
  },
  {
    id: "express-sessionkit-hybrid",
    label: "Express 5 + sessionkit hybrid (Bearer)",
    script: "servers/express-sessionkit-bearer.js",
    args: ["hybrid"],
  },
];

/**
 * The servers whose id contains one of `only` (all without it), and those they are compared
 * with, so that their ratios can be computed.
 */
export function selectServers(only = []) {
  if (only.length === 0) return SERVERS;
  const chosen = new Set(
    SERVERS.filter((s) => only.some((o) => s.id.includes(o))).map((s) => s.id),
  );
  for (const [, a, b] of HTTP_RATIOS) if (chosen.has(a)) chosen.add(b);
  return SERVERS.filter((s) => chosen.has(s.id));
}

async function start(server) {
  const child = spawnServer([here(server.script), ...(server.args ?? [])], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  try {
    const line = await new Promise((resolve, reject) => {
      const rl = createInterface({ input: child.stdout });
      rl.once("line", resolve);
      child.once("exit", (code) => reject(new Error(`${server.id} exited with ${code}`)));
    });
    const info = JSON.parse(line);
    const base = `http://127.0.0.1:${info.port}`;
    let cookie = info.cookie;
    if (info.headers) return { child, base, headers: sameSize(info.headers) };
    if (info.login) {
      const r = await fetch(base + info.login, { method: "POST" });
      await r.text();
      cookie = r.headers.getSetCookie()[0]?.split(";")[0];
    }
    return { child, base, headers: sameSize(cookie ? { cookie } : {}) };
  } catch (error) {
    await stop(child);
    throw error;
  }
}

/** Asks a server to stop through stdin (so that it removes what it left in Redis); then forces it. */
async function stop(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.stdin.end();
  const timer = setTimeout(() => child.kill(), 3000);
  await exited;
  clearTimeout(timer);
}

function autocannonRun(options) {
  return new Promise((resolve, reject) => {
    autocannon(options, (error, result) => (error ? reject(error) : resolve(result)));
  });
}

/**
 * `duration` seconds of load at `connections` on `url`; throws unless every request answered
 * 200. `pid`: the server's process, whose CPU use over the run is reported: `serverCpu`, the
 * share of its core it was busy (near 1: the server, not the load generator, set the pace);
 * `loaderCpu`, the same for this process; `foreignCpu`, the most the rest of the machine (other
 * processes, the kernel) took from either core meanwhile, when pinned; `disturbed`, whether
 * that was enough to count (see DISTURBED).
 */
export async function load({ url, headers, duration, connections, what, pid }) {
  const pin = pinLoadGenerator();
  const serverBefore = pid ? cpuSeconds(pid) : null;
  const ownBefore = ownCpuSeconds();
  const coresBefore = pid && pin.pinned ? coreTimes() : null;
  const started = performance.now();
  const result = await autocannonRun({ url, headers, duration, connections, pipelining: 1 });
  const wall = (performance.now() - started) / 1000;
  const serverAfter = pid ? cpuSeconds(pid) : null;
  const ownAfter = ownCpuSeconds();
  const coresAfter = coresBefore ? coreTimes() : null;
  const statuses = Object.keys(result.statusCodeStats ?? {}).filter((code) => code !== "200");
  if (result.errors > 0 || result.timeouts > 0 || result.non2xx > 0 || statuses.length > 0) {
    const codes = Object.entries(result.statusCodeStats ?? {})
      .map(([code, { count }]) => `${count} × ${code}`)
      .join(", ");
    throw new Error(
      `${what}: not every request answered 200 (${codes}; ${result.errors} errors, ${result.timeouts} timeouts)`,
    );
  }
  if (result.requests.total === 0) throw new Error(`${what}: no request completed`);
  const serverCpu =
    serverBefore === null || serverAfter === null ? null : (serverAfter - serverBefore) / wall;
  const loaderCpu = (ownAfter - ownBefore) / wall;
  // What the rest of the machine took from each core: the server's, and the load generator's.
  let othersServer = null;
  let othersLoader = null;
  if (coresBefore && coresAfter) {
    othersServer = foreignShare(coresBefore, coresAfter, pin.server, serverCpu);
    othersLoader = foreignShare(coresBefore, coresAfter, pin.loader, loaderCpu);
  }
  const foreignCpu =
    othersServer === null || othersLoader === null ? null : Math.max(othersServer, othersLoader);
  // Disturbed: either core shared. Even the load generator's core when it had time to spare:
  // the two may be hyperthreads of one physical core, or share its cache, and a busy
  // neighbour there was seen to slow the server by half.
  const disturbed = foreignCpu !== null && foreignCpu > DISTURBED;
  return {
    rps: result.requests.total / result.duration,
    p99ms: result.latency.p99,
    serverCpu,
    loaderCpu,
    foreignCpu,
    disturbed,
  };
}

/** ", server CPU 97 %, load generator 60 %, others 3 %" for a progress line. */
export function cpuNote(sample) {
  const pct = (x) => `${Math.round(x * 100)} %`;
  let note = "";
  if (sample.serverCpu !== null) note += `, server CPU ${pct(sample.serverCpu)}`;
  note += `, load generator ${pct(sample.loaderCpu)}`;
  if (sample.foreignCpu !== null) note += `, others ${pct(sample.foreignCpu)}`;
  return note;
}

/** Past this share of either core taken by the rest of the machine, a pass counts as disturbed. */
export const DISTURBED = 0.15;

/**
 * Runs `measureOnce` again (at most `retries` more times) while the pass was disturbed (see
 * DISTURBED): a shared machine's burst should not make a pass. The sample says how many times
 * it was measured again.
 */
export async function undisturbed(measureOnce, { what, log, retries = 2 }) {
  for (let attempt = 0; ; attempt++) {
    const sample = await measureOnce();
    if (!sample.disturbed || attempt >= retries) return { ...sample, retries: attempt };
    log(
      `  ${what}: the rest of the machine took ${Math.round(sample.foreignCpu * 100)} % of a core, measuring again`,
    );
  }
}

/** The per-pass samples of one server or endpoint, as the results file keeps them. */
export function summarize(samples) {
  const rps = samples.map((x) => x.rps);
  const cpu = (key) => {
    const values = samples.map((x) => x[key]).filter((x) => x !== null);
    return values.length ? +median(values).toFixed(2) : null;
  };
  const s = summary(rps);
  return {
    rps: s.median,
    min: s.min,
    max: s.max,
    spread: s.spread,
    passes: rps.map(Math.round), // in the order they ran: pass i of every server side by side
    p99ms: median(samples.map((x) => x.p99ms)),
    p99Passes: samples.map((x) => x.p99ms),
    serverCpu: cpu("serverCpu"),
    loaderCpu: cpu("loaderCpu"),
    foreignCpu: cpu("foreignCpu"),
    retries: samples.reduce((sum, x) => sum + (x.retries ?? 0), 0),
    disturbedPasses: samples.filter((x) => x.disturbed).length,
    // Requests per second of the server's own CPU, per pass: its throughput had it been fed
    // without pause (the load generator can be the limit of the fastest servers).
    perCpuPasses: samples.every((x) => x.serverCpu)
      ? samples.map((x) => Math.round(x.rps / x.serverCpu))
      : null,
  };
}

export async function runHttp({
  duration = 3,
  passes = 5,
  connections = 50,
  warmup = 1,
  only = [],
  log = (line) => process.stderr.write(`${line}\n`),
} = {}) {
  const redis = await reachable(6379);
  const selected = selectServers(only);
  const servers = selected.filter((s) => s.needs !== "redis" || redis);
  const leftOut = selected.filter((s) => !servers.includes(s)).map((s) => s.id);
  if (leftOut.length > 0)
    log(`  Redis unreachable on 127.0.0.1:6379: left out ${leftOut.join(", ")}`);
  const samples = Object.fromEntries(servers.map((s) => [s.id, []]));
  for (let pass = 0; pass < passes; pass++) {
    // Every other pass in reverse order: a slow drift of the machine weighs on both ends alike.
    const order = pass % 2 ? [...servers].reverse() : servers;
    for (const server of order) {
      const { child, base, headers } = await start(server);
      try {
        const url = `${base}/me`;
        const probe = await fetch(url, { headers });
        const body = await probe.text();
        if (probe.status !== 200)
          throw new Error(`${server.id}: GET /me answered ${probe.status}: ${body.slice(0, 200)}`);
        const what = `${server.id} pass ${pass + 1}`;
        if (warmup > 0)
          await load({ url, headers, duration: warmup, connections, what: `${what} warm-up` });
        const sample = await undisturbed(
          () => load({ url, headers, duration, connections, what, pid: child.pid }),
          { what, log },
        );
        samples[server.id].push(sample);
        const cpu = cpuNote(sample);
        log(
          `  pass ${pass + 1}/${passes} ${server.label}: ${Math.round(sample.rps)} req/s, p99 ${sample.p99ms} ms${cpu}`,
        );
      } finally {
        await stop(child);
      }
    }
  }
  return {
    servers: servers.map((s) => ({ id: s.id, label: s.label, ...summarize(samples[s.id]) })),
    leftOut,
  };
}
