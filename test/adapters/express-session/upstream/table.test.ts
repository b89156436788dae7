import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

// The migration guide's table of express-session tests that differ on purpose or do not apply
// is the ported suite's own list: a test marked in the suite but missing from the guide (or the
// other way round) fails here.
const suite = readFileSync(new URL("./session.test.ts", import.meta.url), "utf8");
const guide = readFileSync(
  new URL("../../../../docs/migrate-from-express-session.md", import.meta.url),
  "utf8",
);
const literal = String.raw`('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")`;
const marked = [...suite.matchAll(new RegExp(String.raw`\b(differs|na)\(\s*${literal}`, "g"))].map(
  (m) => ({ kind: m[1] as string, title: (m[2] as string).slice(1, -1).replace(/\\(.)/g, "$1") }),
);
const rows = guide
  .split("\n")
  .filter((line) => /\| (different on purpose|not applicable) \|/.test(line))
  .flatMap((line) => {
    const kind = line.includes("| different on purpose |") ? "differs" : "na";
    return [...line.matchAll(/`([^`]+)`/g)].map((m) => ({ kind, title: m[1] as string }));
  });

describe("the migration guide's table of express-session tests", () => {
  it("lists every test the port marks, with the same verdict, and nothing else", () => {
    const key = (r: { kind: string; title: string }) => `${r.kind}: ${r.title}`;
    expect(marked.length).toBeGreaterThan(30);
    expect(rows.map(key).sort()).toEqual(marked.map(key).sort());
  });

  it("states the counts the suite has", () => {
    const tests = [...suite.matchAll(/^\s*(it|differs|na)\(/gm)].length;
    const differ = marked.filter((m) => m.kind === "differs").length;
    const na = marked.filter((m) => m.kind === "na").length;
    const prose = guide.replace(/\s+/g, " ");
    expect(prose).toContain(
      `Of its ${tests} tests, ${tests - differ - na} pass as written; the ${differ} below that differ`,
    );
    expect(prose).toContain(`; ${na} do not apply`);
  });
});
