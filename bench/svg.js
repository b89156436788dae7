// The chart of a results file: one horizontal bar per goal (every ratio with a target, and the
// memory store's bytes per session), the bar at the measured value, a whisker over the range of
// the passes or rounds, a vertical mark at the target; green where it is met, red where not.
// Plain string building: no dependency, no network.
//   node bench/svg.js [results.json] > chart.svg
import { readFileSync } from "node:fs";
import { goalsOf } from "./targets.js";

const MET = "#2e7d32";
const MISSED = "#c62828";
const INK = "#222";
const MUTED = "#666";

const WIDTH = 1200;
const LABEL_X = 12;
const BAR_X = 560;
const BAR_W = 300;
const VALUE_X = BAR_X + BAR_W + 12;
const ROW = 22;
const GROUP_GAP = 30;
const FONT = "font-family=\"system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif\"";

const xml = (text) =>
  String(text).replace(
    /[&<>"]/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c],
  );
const clip = (text, max = 92) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);
const fmt = (goal, x) => (goal.unit === "B" ? `${Math.round(x)} B` : x.toFixed(2));

/** The chart of `result` as an SVG document. */
export function renderSvg(result) {
  const goals = goalsOf(result);
  const groups = [];
  for (const goal of goals) {
    const last = groups.at(-1);
    if (last && last.name === goal.group) last.goals.push(goal);
    else groups.push({ name: goal.group, goals: [goal] });
  }
  const met = goals.filter((g) => g.met).length;
  const parts = [];
  let y = 28;
  const text = (x, yy, content, attrs = "") =>
    parts.push(`<text x="${x}" y="${yy}" ${attrs}>${xml(content)}</text>`);

  text(
    LABEL_X,
    y,
    `sessionkit benchmarks: ${met} of ${goals.length} goals met`,
    `font-size="17" font-weight="600" fill="${INK}"`,
  );
  y += 20;
  const s = result.settings ?? {};
  const pin = result.pinning;
  const where = pin
    ? pin.pinned
      ? `server on CPU ${pin.server}, load generator on CPU ${pin.loader} (taskset)`
      : `not pinned (${pin.reason})`
    : "pinning not recorded";
  text(
    LABEL_X,
    y,
    `${result.date ?? ""} · Node ${result.node ?? "?"} · ${result.cpus ?? "?"} CPUs · ${where} · ${s.passes ?? "?"} passes of ${s.duration ?? "?"} s, ${s.connections ?? "?"} connections`,
    `font-size="12" fill="${MUTED}"`,
  );
  y += 18;
  // Legend
  parts.push(`<rect x="${LABEL_X}" y="${y - 9}" width="14" height="10" fill="${MET}"/>`);
  text(LABEL_X + 18, y, "met", `font-size="12" fill="${INK}"`);
  parts.push(`<rect x="${LABEL_X + 50}" y="${y - 9}" width="14" height="10" fill="${MISSED}"/>`);
  text(LABEL_X + 68, y, "not met", `font-size="12" fill="${INK}"`);
  parts.push(
    `<line x1="${LABEL_X + 128}" y1="${y - 11}" x2="${LABEL_X + 128}" y2="${y + 2}" stroke="${INK}" stroke-width="2.5"/>`,
  );
  text(LABEL_X + 134, y, "target", `font-size="12" fill="${INK}"`);
  parts.push(
    `<line x1="${LABEL_X + 186}" y1="${y - 4}" x2="${LABEL_X + 206}" y2="${y - 4}" stroke="${INK}" stroke-width="1"/>`,
  );
  text(
    LABEL_X + 212,
    y,
    "range over passes / rounds (bar: median of the per-pass ratios)",
    `font-size="12" fill="${INK}"`,
  );
  y += 10;

  if (goals.length === 0) {
    y += 30;
    text(LABEL_X, y, "No goal was measured in this run.", `font-size="13" fill="${INK}"`);
  }
  for (const group of groups) {
    y += GROUP_GAP;
    text(LABEL_X, y, group.name, `font-size="13" font-weight="600" fill="${INK}"`);
    // One scale per group, from 0, wide enough for every value, range and target in it.
    const top = Math.max(...group.goals.map((g) => Math.max(g.hi ?? g.value, g.value, g.target)));
    const scale = (x) => BAR_X + (Math.max(0, x) / (top * 1.08)) * BAR_W;
    // The 1.0 line of a ratio group: even with its peer or its bare framework.
    if (group.goals[0].unit !== "B" && top * 1.08 >= 1) {
      const one = scale(1);
      parts.push(
        `<line x1="${one}" y1="${y + 6}" x2="${one}" y2="${y + 6 + group.goals.length * ROW}" stroke="#bbb" stroke-dasharray="3,3"/>`,
      );
      text(one - 4, y, "1.0", `font-size="10" fill="${MUTED}"`);
    }
    y += 6;
    for (const goal of group.goals) {
      const mid = y + ROW / 2;
      const colour = goal.met ? MET : MISSED;
      text(LABEL_X, mid + 4, clip(goal.name), `font-size="12" fill="${INK}"`);
      parts.push(
        `<rect x="${BAR_X}" y="${mid - 7}" width="${(scale(goal.value) - BAR_X).toFixed(1)}" height="14" fill="${colour}" fill-opacity="0.85"/>`,
      );
      if (goal.lo !== undefined && goal.hi !== undefined && goal.hi > goal.lo) {
        const [lo, hi] = [scale(goal.lo).toFixed(1), scale(goal.hi).toFixed(1)];
        parts.push(
          `<line x1="${lo}" y1="${mid}" x2="${hi}" y2="${mid}" stroke="${INK}" stroke-width="1"/>`,
          `<line x1="${lo}" y1="${mid - 3}" x2="${lo}" y2="${mid + 3}" stroke="${INK}" stroke-width="1"/>`,
          `<line x1="${hi}" y1="${mid - 3}" x2="${hi}" y2="${mid + 3}" stroke="${INK}" stroke-width="1"/>`,
        );
      }
      const t = scale(goal.target).toFixed(1);
      parts.push(
        `<line x1="${t}" y1="${mid - 10}" x2="${t}" y2="${mid + 10}" stroke="${INK}" stroke-width="2.5"/>`,
      );
      const range =
        goal.lo !== undefined && goal.hi !== undefined
          ? ` (${fmt(goal, goal.lo)}–${fmt(goal, goal.hi)})`
          : "";
      text(
        VALUE_X,
        mid + 4,
        `${fmt(goal, goal.value)}${range} · target ${goal.op === "<=" ? "≤" : "≥"} ${goal.unit === "B" ? `${goal.target} B` : goal.target} · ${goal.met ? "met" : "NOT met"}`,
        `font-size="12" fill="${colour}"`,
      );
      y += ROW;
    }
  }
  y += 20;
  const height = Math.ceil(y);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" ${FONT}>`,
    `<title>sessionkit benchmarks: measured against target</title>`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    ...parts,
    "</svg>",
    "",
  ].join("\n");
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const file = process.argv[2] ?? new URL("./results/latest.json", import.meta.url);
  process.stdout.write(renderSvg(JSON.parse(readFileSync(file, "utf8"))));
}
