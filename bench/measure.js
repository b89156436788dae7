import { performance } from "node:perf_hooks";

/** Time per operation after a warm-up, over about `ms` milliseconds. */
export async function measure(name, fn, ms = 1200) {
  const warmUntil = performance.now() + 250;
  while (performance.now() < warmUntil) await fn();
  let ops = 0;
  const start = performance.now();
  const until = start + ms;
  while (performance.now() < until) {
    for (let i = 0; i < 50; i++) await fn();
    ops += 50;
  }
  const elapsed = performance.now() - start;
  return {
    name,
    opsPerSec: Math.round((ops / elapsed) * 1000),
    usPerOp: +((elapsed * 1000) / ops).toFixed(2),
  };
}
