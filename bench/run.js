// `npm run bench`: token micro-benchmarks, revocation propagation, HTTP throughput and the
// 1M-session scale run, printed as tables of ratios and written to bench/results/latest.json.
// Options: --duration S --passes N --sessions N --skip-http --skip-scale.
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { parseArgs } from "node:util";
import { runHttp } from "./http.js";
import { runJwt } from "./jwt.js";
import { runMicro } from "./micro.js";
import { runRevocations } from "./revocation.js";
import { printScale, runScale } from "./scale.js";

const { values } = parseArgs({
  options: {
    duration: { type: "string", default: "5" },
    passes: { type: "string", default: "2" },
    "skip-http": { type: "boolean" },
    "skip-scale": { type: "boolean" },
    sessions: { type: "string", default: "1000000" },
  },
});

const micro = await runMicro();
const revocation = await runRevocations();
console.log("\nRevocation propagation between two instances on one backend (jwt verification)");
console.table(Object.fromEntries(revocation.map((r) => [r.store, r])));
const jwt = await runJwt();
const us = Object.fromEntries(jwt.map((r) => [r.name, r.usPerOp]));
const jwtRatios = [
  [
    "HS256 verify: jose.jwtVerify / sessionkit",
    "HS256 verify: jose.jwtVerify",
    "HS256 verify: sessionkit",
    6,
  ],
  [
    "HS256 verify: fast-jwt (no cache) / sessionkit",
    "HS256 verify: fast-jwt (no cache)",
    "HS256 verify: sessionkit",
    1.5,
  ],
  [
    "HS256 verify: fast-jwt (cache) / sessionkit with its cache",
    "HS256 verify: fast-jwt (cache)",
    "HS256 verify: sessionkit with verified-token cache",
    1,
  ],
].map(([name, peer, ours, target]) => {
  const value = +(us[peer] / us[ours]).toFixed(2);
  return { name, value, target, met: value >= target };
});
console.log("\nJWT sign and verify (this process; ratio = peer time / our time, higher is better)");
console.table(
  Object.fromEntries(jwt.map((m) => [m.name, { "ops/s": m.opsPerSec, "µs/op": m.usPerOp }])),
);
console.table(
  Object.fromEntries(
    jwtRatios.map((r) => [
      r.name,
      { speedup: r.value, target: `≥ ${r.target}`, met: r.met ? "yes" : "NO" },
    ]),
  ),
);
console.log("\nToken operations (this process)");
console.table(
  Object.fromEntries(micro.map((m) => [m.name, { "ops/s": m.opsPerSec, "µs/op": m.usPerOp }])),
);

let http = [];
const ratios = [];
if (!values["skip-http"]) {
  console.error("HTTP throughput (autocannon, 50 connections, 127.0.0.1):");
  http = await runHttp({ duration: Number(values.duration), passes: Number(values.passes) });
  const rps = Object.fromEntries(http.map((h) => [h.id, h.rps]));
  // [what, numerator, denominator, target (0: shown for scale only)]
  const RATIOS = [
    [
      "node:http + sessionkit id (memory) / node:http bare",
      "node-sessionkit-memory",
      "node-bare",
      0.8,
    ],
    [
      "node:http + sessionkit id (SQLite) / node:http bare",
      "node-sessionkit-sqlite",
      "node-bare",
      0.8,
    ],
    [
      "node:http + sessionkit id (SQLite + cache) / node:http bare",
      "node-sessionkit-sqlite-cache",
      "node-bare",
      0.8,
    ],
    [
      "Express + sessionkit id (memory) / Express bare",
      "express-sessionkit-memory",
      "express-bare",
      0.8,
    ],
    [
      "Express + sessionkit id (SQLite) / Express bare",
      "express-sessionkit-sqlite",
      "express-bare",
      0.8,
    ],
    [
      "Express + sessionkit id (SQLite + cache) / Express bare",
      "express-sessionkit-sqlite-cache",
      "express-bare",
      0.8,
    ],
    [
      "Express + sessionkit id (memory) / Express + express-session",
      "express-sessionkit-memory",
      "express-session",
      1.5,
    ],
    [
      "Express + sessionkit id (SQLite) / Express + express-session",
      "express-sessionkit-sqlite",
      "express-session",
      1.5,
    ],
    [
      "Express + sessionkit id (SQLite + cache) / Express + express-session",
      "express-sessionkit-sqlite-cache",
      "express-session",
      1.5,
    ],
    [
      "Express + express-session / Express bare (the peer, for scale)",
      "express-session",
      "express-bare",
      0,
    ],
    ["node:http + sessionkit id (Redis) / node:http bare", "node-sessionkit-redis", "node-bare", 0],
    [
      "node:http + sessionkit id (Redis + cache) / node:http bare",
      "node-sessionkit-redis-cache",
      "node-bare",
      0.8,
    ],
    [
      "Express + sessionkit id (Redis + cache) / Express bare",
      "express-sessionkit-redis-cache",
      "express-bare",
      0.8,
    ],
    [
      "Express + sessionkit id (Redis) / Express + express-session (connect-redis)",
      "express-sessionkit-redis",
      "express-session-redis",
      1.5,
    ],
    [
      "Express + sessionkit id (Redis + cache) / Express + express-session (connect-redis)",
      "express-sessionkit-redis-cache",
      "express-session-redis",
      1.5,
    ],
    [
      "Express + express-session (connect-redis) / Express bare (the peer, for scale)",
      "express-session-redis",
      "express-bare",
      0,
    ],
    [
      "Fastify + sessionkit id (memory) / Fastify bare",
      "fastify-sessionkit-memory",
      "fastify-bare",
      0.8,
    ],
    [
      "Fastify + sessionkit id (SQLite) / Fastify bare",
      "fastify-sessionkit-sqlite",
      "fastify-bare",
      0.8,
    ],
    [
      "Fastify + sessionkit id (SQLite + cache) / Fastify bare",
      "fastify-sessionkit-sqlite-cache",
      "fastify-bare",
      0.8,
    ],
    ["Fastify + sessionkit jwt / Fastify bare", "fastify-sessionkit-jwt", "fastify-bare", 0.9],
    [
      "Fastify + sessionkit hybrid / Fastify bare",
      "fastify-sessionkit-hybrid",
      "fastify-bare",
      0.9,
    ],
    [
      "Fastify + sessionkit id (memory) / Fastify + @fastify/session",
      "fastify-sessionkit-memory",
      "fastify-session",
      1.5,
    ],
    [
      "Fastify + sessionkit id (SQLite + cache) / Fastify + @fastify/session",
      "fastify-sessionkit-sqlite-cache",
      "fastify-session",
      1.5,
    ],
    [
      "Fastify + sessionkit jwt / Fastify + @fastify/secure-session",
      "fastify-sessionkit-jwt",
      "fastify-secure-session",
      1.5,
    ],
    [
      "Fastify + sessionkit hybrid / Fastify + @fastify/secure-session",
      "fastify-sessionkit-hybrid",
      "fastify-secure-session",
      1.5,
    ],
    [
      "Fastify + @fastify/session / Fastify bare (the peer, for scale)",
      "fastify-session",
      "fastify-bare",
      0,
    ],
    [
      "Fastify + @fastify/secure-session / Fastify bare (the peer, for scale)",
      "fastify-secure-session",
      "fastify-bare",
      0,
    ],
    ["node:http + sessionkit jwt / node:http bare", "node-sessionkit-jwt", "node-bare", 0.9],
    ["node:http + sessionkit hybrid / node:http bare", "node-sessionkit-hybrid", "node-bare", 0.9],
    ["Hono + sessionkit jwt / Hono bare", "hono-sessionkit-jwt", "hono-bare", 0.9],
    ["Hono + sessionkit hybrid / Hono bare", "hono-sessionkit-hybrid", "hono-bare", 0.9],
    ["Hono + sessionkit jwt / Hono + hono/jwt", "hono-sessionkit-jwt", "hono-jwt", 1.5],
    ["Hono + hono/jwt / Hono bare (the peer, for scale)", "hono-jwt", "hono-bare", 0],
  ];
  for (const [name, a, b, target] of RATIOS) {
    if (rps[a] === undefined || rps[b] === undefined) continue; // a backend that was not here
    const value = +(rps[a] / rps[b]).toFixed(2);
    ratios.push({ name, value, target, met: value >= target });
  }
  console.log("\nAuthenticated GET /me, requests per second (median of passes)");
  console.table(
    Object.fromEntries(
      http.map((h) => [h.label, { "req/s": h.rps, passes: h.passes.join(" "), "p99 ms": h.p99ms }]),
    ),
  );
  console.log("\nRatios (same run)");
  console.table(
    Object.fromEntries(
      ratios.map((r) => [
        r.name,
        {
          ratio: r.value,
          target: r.target ? `≥ ${r.target}` : "-",
          met: r.target ? (r.met ? "yes" : "NO") : "-",
        },
      ]),
    ),
  );
}

let scale = null;
if (!values["skip-scale"]) {
  scale = await runScale({ sessions: Number(values.sessions) });
  printScale(scale);
}

const result = {
  date: new Date().toISOString(),
  node: process.version,
  cpus: cpus().length,
  cpu: cpus()[0]?.model,
  settings: { duration: Number(values.duration), passes: Number(values.passes), connections: 50 },
  micro,
  revocation,
  jwt,
  jwtRatios,
  http,
  ratios,
  scale,
};
mkdirSync(new URL("./results/", import.meta.url), { recursive: true });
writeFileSync(
  new URL("./results/latest.json", import.meta.url),
  `${JSON.stringify(result, null, 2)}\n`,
);
console.log("\nwritten to bench/results/latest.json");
