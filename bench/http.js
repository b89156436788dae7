// HTTP throughput: each server runs in its own process on 127.0.0.1; autocannon drives it
// from this process. Every request is an authenticated GET /me.
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import autocannon from "autocannon";
import { reachable } from "./backends.js";

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
];

async function start(server) {
  const child = spawn(process.execPath, [here(server.script), ...(server.args ?? [])], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  const line = await new Promise((resolve, reject) => {
    const rl = createInterface({ input: child.stdout });
    rl.once("line", resolve);
    child.once("exit", (code) => reject(new Error(`${server.id} exited with ${code}`)));
  });
  const info = JSON.parse(line);
  const base = `http://127.0.0.1:${info.port}`;
  let cookie = info.cookie;
  if (info.headers) return { child, base, headers: info.headers };
  if (info.login) {
    const r = await fetch(base + info.login, { method: "POST" });
    cookie = r.headers.getSetCookie()[0]?.split(";")[0];
  }
  return { child, base, headers: cookie ? { cookie } : {} };
}

function load(url, headers, duration, connections) {
  return new Promise((resolve, reject) => {
    autocannon({ url, headers, duration, connections, pipelining: 1 }, (error, result) =>
      error ? reject(error) : resolve(result),
    );
  });
}

export async function runHttp({ duration = 5, passes = 2, connections = 50 } = {}) {
  const redis = await reachable(6379);
  const servers = SERVERS.filter((s) => s.needs !== "redis" || redis);
  if (!redis) console.error("  Redis unreachable on 127.0.0.1:6379: its servers are left out");
  const samples = Object.fromEntries(servers.map((s) => [s.id, []]));
  for (let pass = 0; pass < passes; pass++) {
    for (const server of servers) {
      const { child, base, headers } = await start(server);
      try {
        const probe = await fetch(`${base}/me`, { headers });
        if (probe.status !== 200) throw new Error(`${server.id}: GET /me answered ${probe.status}`);
        await load(`${base}/me`, headers, 1, connections); // warm-up
        const result = await load(`${base}/me`, headers, duration, connections);
        if (result.non2xx > 0 || result.errors > 0) {
          throw new Error(`${server.id}: ${result.non2xx} non-2xx, ${result.errors} errors`);
        }
        samples[server.id].push({ rps: result.requests.average, p99ms: result.latency.p99 });
        process.stderr.write(
          `  pass ${pass + 1}/${passes} ${server.label}: ${Math.round(result.requests.average)} req/s\n`,
        );
      } finally {
        // Asked to stop through stdin, so that it removes what it left in Redis; then forced.
        const exited = new Promise((resolve) => child.once("exit", resolve));
        child.stdin.end();
        const timer = setTimeout(() => child.kill(), 3000);
        await exited;
        clearTimeout(timer);
      }
    }
  }
  return servers.map((s) => {
    const rps = samples[s.id].map((x) => x.rps).sort((a, b) => a - b);
    const median = rps[Math.floor(rps.length / 2)];
    return {
      id: s.id,
      label: s.label,
      rps: Math.round(median),
      passes: rps.map(Math.round),
      p99ms: Math.max(...samples[s.id].map((x) => x.p99ms)),
    };
  });
}
