import { readdirSync, readFileSync } from "node:fs";
import { dirname, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

// The README's architecture diagram is a rule, not a picture: parts stand in layers, and a part
// imports only parts of the layers below it. This test reads the layers from the diagram and the
// imports from src/, so the drawing and the tree cannot drift apart.

const root = fileURLToPath(new URL("../../", import.meta.url));
const src = resolve(root, "src");

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = resolve(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith(".ts") ? [path] : [];
  });
}

/** `src/core/strategies/id.ts` → `core`; a file at the top (`src/errors.ts`) is a part of its own. */
function partOf(file: string): string {
  const [first = "", ...rest] = relative(src, file).split(sep);
  return rest.length === 0 ? first.replace(/\.[jt]s$/, "") : first;
}

function importsBetweenParts(): { from: string; to: string; file: string }[] {
  const found: { from: string; to: string; file: string }[] = [];
  for (const file of sourceFiles(src)) {
    const text = readFileSync(file, "utf8");
    for (const match of text.matchAll(/(?:from|import)\s*\(?\s*"(\.{1,2}\/[^"]+)"/g)) {
      const target = resolve(dirname(file), match[1] ?? "");
      // Browser code may name a file by the URL it is served at; only what is in src/ counts.
      if (!target.startsWith(src + sep)) continue;
      const from = partOf(file);
      const to = partOf(target);
      if (from !== to) found.push({ from, to, file: relative(root, file) });
    }
  }
  return found;
}

/** The layers of the README's diagram, top first: `L1["cli"]`, `L3["adapters · testing"]`. */
function layersFromReadme(): { layers: Map<string, number>; standalone: Set<string> } {
  const readme = readFileSync(resolve(root, "README.md"), "utf8");
  const section = readme.split(/^## Architecture$/m)[1] ?? "";
  const diagram = /```mermaid\n([\s\S]*?)```/.exec(section)?.[1] ?? "";
  const layers = new Map<string, number>();
  for (const match of diagram.matchAll(/\bL(\d+)\["([^"]+)"\]/g)) {
    for (const part of (match[2] ?? "").split(" · ")) layers.set(part.trim(), Number(match[1]));
  }
  const standalone = new Set([...diagram.matchAll(/\bS_(\w+)\["/g)].map((match) => match[1] ?? ""));
  return { layers, standalone };
}

describe("architecture: the README's diagram is the rule of who imports whom", () => {
  const { layers, standalone } = layersFromReadme();
  const parts = new Set(sourceFiles(src).map(partOf));

  it("places every part of src/ in the diagram, and names no part that is not there", () => {
    expect(layers.size).toBeGreaterThan(5);
    const drawn = new Set([...layers.keys(), ...standalone]);
    expect([...drawn].sort()).toEqual([...parts].sort());
  });

  it("has every import go from a part to a part of a lower layer", () => {
    const upward = importsBetweenParts()
      .filter(({ from, to }) => {
        const a = layers.get(from);
        const b = layers.get(to);
        return a === undefined || b === undefined || b <= a;
      })
      .map(
        ({ from, to, file }) =>
          `${file}: ${from} (L${layers.get(from)}) → ${to} (L${layers.get(to)})`,
      );
    expect(upward).toEqual([]);
  });

  it("keeps the parts drawn apart from the layers free of imports, both ways", () => {
    const crossing = importsBetweenParts()
      .filter(({ from, to }) => standalone.has(from) || standalone.has(to))
      .map(({ from, to, file }) => `${file}: ${from} → ${to}`);
    expect(crossing).toEqual([]);
  });
});
