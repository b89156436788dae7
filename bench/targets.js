// The performance goals: which measured ratios have a target, and how much. One place for the
// runner (to judge a run), the chart and the Markdown (to show it).

// HTTP ratios: [what, numerator server id, denominator server id, target, group].
// target null: shown with no target; "scale": the peer against the bare framework, shown so
// that the other ratios can be read (no target either).
export const HTTP_RATIOS = [
  // sessionkit against the bare framework
  [
    "node:http + sessionkit id (memory) / node:http bare",
    "node-sessionkit-memory",
    "node-bare",
    0.9,
  ],
  [
    "node:http + sessionkit id (SQLite) / node:http bare",
    "node-sessionkit-sqlite",
    "node-bare",
    null,
  ],
  [
    "node:http + sessionkit id (SQLite + cache) / node:http bare",
    "node-sessionkit-sqlite-cache",
    "node-bare",
    0.88,
  ],
  [
    "node:http + sessionkit id (Redis) / node:http bare",
    "node-sessionkit-redis",
    "node-bare",
    null,
  ],
  [
    "node:http + sessionkit id (Redis + cache) / node:http bare",
    "node-sessionkit-redis-cache",
    "node-bare",
    0.85,
  ],
  ["node:http + sessionkit jwt / node:http bare", "node-sessionkit-jwt", "node-bare", 0.92],
  ["node:http + sessionkit hybrid / node:http bare", "node-sessionkit-hybrid", "node-bare", 0.92],
  ["Hono + sessionkit jwt / Hono bare", "hono-sessionkit-jwt", "hono-bare", 0.92],
  ["Hono + sessionkit hybrid / Hono bare", "hono-sessionkit-hybrid", "hono-bare", 0.92],
  [
    "Fastify + sessionkit id (memory) / Fastify bare",
    "fastify-sessionkit-memory",
    "fastify-bare",
    0.9,
  ],
  [
    "Fastify + sessionkit id (SQLite) / Fastify bare",
    "fastify-sessionkit-sqlite",
    "fastify-bare",
    null,
  ],
  [
    "Fastify + sessionkit id (SQLite + cache) / Fastify bare",
    "fastify-sessionkit-sqlite-cache",
    "fastify-bare",
    null,
  ],
  ["Fastify + sessionkit jwt / Fastify bare", "fastify-sessionkit-jwt", "fastify-bare", 0.92],
  ["Fastify + sessionkit hybrid / Fastify bare", "fastify-sessionkit-hybrid", "fastify-bare", 0.92],
  [
    "Express + sessionkit id (memory) / Express bare",
    "express-sessionkit-memory",
    "express-bare",
    0.9,
  ],
  [
    "Express + sessionkit id (SQLite) / Express bare",
    "express-sessionkit-sqlite",
    "express-bare",
    null,
  ],
  [
    "Express + sessionkit id (SQLite + cache) / Express bare",
    "express-sessionkit-sqlite-cache",
    "express-bare",
    null,
  ],
  [
    "Express + sessionkit id (Redis + cache) / Express bare",
    "express-sessionkit-redis-cache",
    "express-bare",
    null,
  ],
  ["Express + sessionkit jwt / Express bare", "express-sessionkit-jwt", "express-bare", 0.92],
  ["Express + sessionkit hybrid / Express bare", "express-sessionkit-hybrid", "express-bare", 0.92],
  // sessionkit against the peer library, same store kind
  [
    "Express + sessionkit id (memory) / Express + express-session (MemoryStore)",
    "express-sessionkit-memory",
    "express-session",
    1.6,
  ],
  [
    "Express + sessionkit id (SQLite) / Express + express-session (MemoryStore)",
    "express-sessionkit-sqlite",
    "express-session",
    null,
  ],
  [
    "Express + sessionkit id (SQLite + cache) / Express + express-session (MemoryStore)",
    "express-sessionkit-sqlite-cache",
    "express-session",
    1.6,
  ],
  [
    "Express + sessionkit id (Redis) / Express + express-session (connect-redis)",
    "express-sessionkit-redis",
    "express-session-redis",
    1.6,
  ],
  [
    "Express + sessionkit id (Redis + cache) / Express + express-session (connect-redis)",
    "express-sessionkit-redis-cache",
    "express-session-redis",
    1.6,
  ],
  [
    "Fastify + sessionkit id (memory) / Fastify + @fastify/session",
    "fastify-sessionkit-memory",
    "fastify-session",
    1.6,
  ],
  [
    "Fastify + sessionkit id (SQLite + cache) / Fastify + @fastify/session",
    "fastify-sessionkit-sqlite-cache",
    "fastify-session",
    null,
  ],
  [
    "Fastify + sessionkit jwt / Fastify + @fastify/secure-session",
    "fastify-sessionkit-jwt",
    "fastify-secure-session",
    1.6,
  ],
  [
    "Fastify + sessionkit hybrid / Fastify + @fastify/secure-session",
    "fastify-sessionkit-hybrid",
    "fastify-secure-session",
    1.6,
  ],
  ["Hono + sessionkit jwt / Hono + hono/jwt", "hono-sessionkit-jwt", "hono-jwt", 1.5],
  // the peers themselves, for scale
  [
    "Express + express-session / Express bare (the peer, for scale)",
    "express-session",
    "express-bare",
    "scale",
  ],
  [
    "Express + express-session (connect-redis) / Express bare (the peer, for scale)",
    "express-session-redis",
    "express-bare",
    "scale",
  ],
  [
    "Fastify + @fastify/session / Fastify bare (the peer, for scale)",
    "fastify-session",
    "fastify-bare",
    "scale",
  ],
  [
    "Fastify + @fastify/secure-session / Fastify bare (the peer, for scale)",
    "fastify-secure-session",
    "fastify-bare",
    "scale",
  ],
  ["Hono + hono/jwt / Hono bare (the peer, for scale)", "hono-jwt", "hono-bare", "scale"],
  // What Hono charges for the two async layers a session setup adds, and the sessionkit
  // servers against that same shape.
  [
    "Hono bare + two no-op layers / Hono bare (the layers, for scale)",
    "hono-layers",
    "hono-bare",
    "scale",
  ],
  [
    "Hono + sessionkit jwt / Hono bare + two no-op layers (for scale)",
    "hono-sessionkit-jwt",
    "hono-layers",
    "scale",
  ],
  // What Express charges for the two layers a session setup adds (middleware, route guard),
  // and the sessionkit servers against that same shape.
  [
    "Express bare + two no-op layers / Express bare (the layers, for scale)",
    "express-layers",
    "express-bare",
    "scale",
  ],
  [
    "Express + sessionkit jwt / Express bare + two no-op layers (for scale)",
    "express-sessionkit-jwt",
    "express-layers",
    "scale",
  ],
  [
    "Express + sessionkit id (memory) / Express bare + two no-op layers (for scale)",
    "express-sessionkit-memory",
    "express-layers",
    "scale",
  ],
];

// HS256 verification: [what, peer row, our row, target]; the speed-up is peer time / ours.
export const JWT_RATIOS = [
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
    null,
  ],
];

// The reference server: [what, endpoint id, against endpoint id, target].
export const REFERENCE_RATIOS = [
  ["reference server: GET /api/id/me / GET /healthz", "id", "healthz", 0.85],
  ["reference server: GET /api/jwt/me / GET /healthz", "jwt", "healthz", 0.9],
  ["reference server: GET /api/hybrid/me / GET /healthz", "hybrid", "healthz", 0.9],
];

/** The memory store's V8 heap per session at the scale run, at most this many bytes. */
export const MEMORY_BYTES_PER_SESSION = 350;

/** Whether a ratio row has a real target (not "for scale", not none). */
export const hasTarget = (row) => typeof row.target === "number" && row.target > 0;

/** Kinds of HTTP ratio: against the bare framework, against the peer, the peer for scale. */
export function ratioKind(denominator, target) {
  if (target === "scale") return "scale";
  return denominator.endsWith("-bare") ? "bare" : "peer";
}

/**
 * A ratio row from paired samples: `pairedRatio`'s value and per-pass range, its target
 * (0 for scale, null for none) and whether the median meets it.
 */
export function ratioRow(name, paired, target, extra = {}) {
  const t = target === "scale" ? 0 : target;
  return {
    name,
    ...extra,
    value: paired.value,
    lo: paired.lo,
    hi: paired.hi,
    perPass: paired.perPass,
    target: t,
    met: typeof t === "number" && t > 0 ? paired.value >= t : null,
  };
}

const PEER = / \+ (express-session|@fastify|hono\/jwt)/;

/**
 * Every goal of a result file, in the chart's and the summary's order, with its group:
 * `{group, name, value, lo?, hi?, target, op: ">=" | "<=", unit, met}`. Reads older result
 * files too (ratios with target 0 for scale and no kind, no reference or memory goal).
 */
export function goalsOf(result) {
  const goals = [];
  const add = (group, rows, unit = "×") => {
    for (const row of rows ?? []) {
      if (!hasTarget(row)) continue;
      goals.push({ group, op: ">=", unit, ...row, met: row.value >= row.target });
    }
  };
  const http = result.ratios ?? [];
  const kind = (r) => r.kind ?? (PEER.test(r.name) ? "peer" : "bare");
  add(
    "HTTP: sessionkit / bare framework (req/s)",
    http.filter((r) => kind(r) === "bare"),
  );
  add(
    "HTTP: sessionkit / peer library (req/s)",
    http.filter((r) => kind(r) === "peer"),
  );
  add("Reference server: /me / /healthz (req/s)", result.reference?.ratios);
  add("HS256 verify: peer time / sessionkit time (median of rounds)", result.jwtRatios);
  const memory = result.scale?.results?.find((r) => r.backend === "memory store");
  if (memory) {
    goals.push({
      group: `Memory store: V8 heap per session, ${result.scale.sessions.toLocaleString("en-US")} sessions (lower is better)`,
      name: "memory store: bytes per session",
      value: memory.bytesPerSession,
      target: MEMORY_BYTES_PER_SESSION,
      op: "<=",
      unit: "B",
      met: memory.bytesPerSession <= MEMORY_BYTES_PER_SESSION,
    });
  }
  return goals;
}
