import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT, readDoc } from "../helpers/markdown.js";

// The README's benchmark figures are the committed run's, not remembered ones: each measured
// cell of its goals table is read from bench/results/latest.json here.
type Ratio = { name: string; value: number };
const run = JSON.parse(readFileSync(join(ROOT, "bench/results/latest.json"), "utf8")) as {
  ratios: Ratio[];
  jwtRatios: Ratio[];
  reference: { ratios: Ratio[] };
  scale: { results: { backend: string; bytesPerSession: number }[] };
};
const ratio = (name: string, x = "") => {
  const found = [...run.ratios, ...run.jwtRatios, ...run.reference.ratios].find(
    (r) => r.name === name,
  );
  if (!found) throw new Error(`no ratio ${name} in latest.json`);
  return `${found.value.toFixed(2)}${x}`;
};
const n = "node:http";
const rows: Record<string, string[]> = {
  "node:http + `id` memory / bare": [ratio(`${n} + sessionkit id (memory) / ${n} bare`)],
  "node:http + `jwt` / `hybrid` / bare": [
    ratio(`${n} + sessionkit jwt / ${n} bare`),
    ratio(`${n} + sessionkit hybrid / ${n} bare`),
  ],
  "Fastify + `id` memory / `jwt` / `hybrid` / bare": ["id (memory)", "jwt", "hybrid"].map((s) =>
    ratio(`Fastify + sessionkit ${s} / Fastify bare`),
  ),
  "Hono + `jwt` / `hybrid` / bare": ["jwt", "hybrid"].map((s) =>
    ratio(`Hono + sessionkit ${s} / Hono bare`),
  ),
  "Express + `id` memory / Express + express-session": [
    ratio("Express + sessionkit id (memory) / Express + express-session (MemoryStore)", "x"),
  ],
  "Express + `id` Redis (no cache / 1 s cache) / Express + connect-redis": [
    "Redis",
    "Redis + cache",
  ].map((s) =>
    ratio(`Express + sessionkit id (${s}) / Express + express-session (connect-redis)`, "x"),
  ),
  "Fastify + `id` memory / @fastify/session": [
    ratio("Fastify + sessionkit id (memory) / Fastify + @fastify/session", "x"),
  ],
  "Fastify + `jwt` / @fastify/secure-session": [
    ratio("Fastify + sessionkit jwt / Fastify + @fastify/secure-session", "x"),
  ],
  "Hono + `jwt` / hono/jwt": [ratio("Hono + sessionkit jwt / Hono + hono/jwt", "x")],
  "reference server `/api/{id,jwt,hybrid}/me` / `/healthz`": ["id", "jwt", "hybrid"].map((s) =>
    ratio(`reference server: GET /api/${s}/me / GET /healthz`),
  ),
  "HS256 verify, uncached: jose / fast-jwt time over ours": [
    ratio("HS256 verify: jose.jwtVerify / sessionkit", "x"),
    ratio("HS256 verify: fast-jwt (no cache) / sessionkit", "x"),
  ],
  "memory store, heap per session at 1M": [
    `${run.scale.results.find((r) => r.backend === "memory store")?.bytesPerSession} B`,
  ],
};

describe("the README's benchmark figures", () => {
  const section =
    readDoc("README.md")
      .split(/^## Benchmarks$/m)[1]
      ?.split(/^## /m)[0] ?? "";
  const table = new Map(
    [...section.matchAll(/^\| (.+?) \| (.+?) \| (≥|≤) .+\|$/gm)].map((m) => [m[1], m[2]]),
  );

  it("show the committed run's chart", () => {
    expect(section).toContain("](bench/results/latest.svg)");
  });

  it("are the ratios of bench/results/latest.json, row by row", () => {
    expect([...table.keys()].sort()).toEqual(Object.keys(rows).sort());
    for (const [label, figures] of Object.entries(rows)) {
      expect(`${label}: ${table.get(label)}`).toBe(`${label}: ${figures.join(" / ")}`);
    }
  });
});
