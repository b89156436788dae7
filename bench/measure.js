import { performance } from "node:perf_hooks";

/** Time per operation after a warm-up of `warmMs`, over about `ms` milliseconds. */
export async function measure(name, fn, ms = 1200, warmMs = 250) {
  const warmUntil = performance.now() + warmMs;
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

/** The median (the mean of the middle two for an even count). */
export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * Median, min, max and the relative spread ((max - min) / median) of a set of samples,
 * rounded to `digits`.
 */
export function summary(values, digits = 0) {
  const round = (x) => +x.toFixed(digits);
  const mid = median(values);
  return {
    median: round(mid),
    min: round(Math.min(...values)),
    max: round(Math.max(...values)),
    spread: mid ? +((Math.max(...values) - Math.min(...values)) / mid).toFixed(3) : 0,
  };
}

/**
 * `a[i] / b[i]` for each pass i (passes measured side by side, so that a moment of noise on
 * the machine weighs on both): the median of those as the value, their min and max as the range.
 */
export function pairedRatio(a, b) {
  const perPass = a.map((x, i) => x / b[i]).filter((x) => Number.isFinite(x));
  return {
    value: +median(perPass).toFixed(3),
    lo: +Math.min(...perPass).toFixed(3),
    hi: +Math.max(...perPass).toFixed(3),
    perPass: perPass.map((x) => +x.toFixed(3)),
  };
}

/** A relative spread as a percentage: (max - min) / median. */
export const percent = (x) => `${(x * 100).toFixed(1)} %`;
