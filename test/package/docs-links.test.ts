import { dirname, join, normalize } from "node:path";
import { describe, expect, it } from "vitest";
import { documentationFiles, fencedBlocks, readDoc, repositoryFiles } from "../helpers/markdown.js";

// A newcomer follows the README and docs/ by their links and by the paths they name: every
// relative link must reach a file of the repository (and a heading of it, for `#anchor`),
// and every repository path written in backticks must exist. Nothing points at a file that
// only its author had.

const files = repositoryFiles();
const directories = new Set(
  [...files].flatMap((path) =>
    path
      .split("/")
      .slice(0, -1)
      .map((_, i, parts) => parts.slice(0, i + 1).join("/")),
  ),
);
const topLevel = new Set([...directories].filter((dir) => !dir.includes("/")));
const exists = (path: string) => files.has(path) || directories.has(path.replace(/\/$/, ""));

/**
 * Files the docs name as what a command writes, never committed: the benchmark's run without
 * `--save` (bench/run.js), kept out by .gitignore.
 */
const GENERATED = new Set(["bench/results/run.json", "bench/results/run.svg"]);

/** The text outside fenced blocks and inline code, where links and prose live. */
function prose(markdown: string): string {
  const lines = markdown.split("\n");
  for (const block of fencedBlocks("", markdown)) {
    const count = block.text === "" ? 0 : block.text.split("\n").length;
    for (let i = block.line - 1; i <= block.line + count; i++) lines[i] = "";
  }
  return lines.join("\n");
}

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens. */
function slug(heading: string): string {
  return heading
    .replace(/\[([^\]]*)\]\([^)]*\)/g, "$1")
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\p{M}\s_-]/gu, "")
    .replace(/\s/g, "-");
}

function anchorsOf(file: string): Set<string> {
  const seen = new Map<string, number>();
  const anchors = new Set<string>();
  for (const match of prose(readDoc(file)).matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const base = slug(match[1] ?? "");
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    anchors.add(count === 0 ? base : `${base}-${count}`);
  }
  return anchors;
}

/** Relative link targets of a file: `[text](target)`, `![alt](target)`, `[ref]: target`. */
function linksOf(file: string): string[] {
  const text = prose(readDoc(file)).replace(/`[^`\n]*`/g, "``");
  const inline = [...text.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)];
  const references = [...text.matchAll(/^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/gm)];
  return [...inline, ...references]
    .map((match) => match[1] ?? "")
    .filter((target) => !/^[a-z][a-z0-9+.-]*:/i.test(target));
}

/** What a link, relative to `file`, is broken by, or null. */
function brokenLink(file: string, target: string): string | null {
  const hash = target.indexOf("#");
  const path = decodeURIComponent(hash < 0 ? target : target.slice(0, hash));
  const anchor = hash < 0 ? null : decodeURIComponent(target.slice(hash + 1));
  const resolved = path === "" ? file : normalize(join(dirname(file), path)).replaceAll("\\", "/");
  if (resolved.startsWith("..")) return "leaves the repository";
  if (!exists(resolved)) return "no such file";
  if (anchor !== null) {
    if (!resolved.endsWith(".md")) return "an anchor into a file that is not Markdown";
    if (!anchorsOf(resolved).has(anchor)) return `no heading #${anchor} in ${resolved}`;
  }
  return null;
}

/** Inline code that names a path of the repository: `src/stores/types.ts`, `test/system/`. */
function pathsInBackticks(file: string): string[] {
  // The text of a link to another site names a path there (express-session's `test/session.js`).
  const text = prose(readDoc(file)).replace(/\[[^\]]*\]\([a-z][a-z0-9+.-]*:[^)]*\)/gi, "");
  return [...text.matchAll(/`([^`\n]+)`/g)]
    .map((match) => match[1] ?? "")
    .filter((code) => /^[\w.-]+(\/[\w.-]*)+$/.test(code))
    .filter((code) => topLevel.has(code.split("/")[0] ?? ""));
}

describe("the README and docs/ name only what the repository holds", () => {
  const docs = documentationFiles();

  it("finds the README and the guides, and links in them", () => {
    expect(docs).toContain("README.md");
    expect(docs.length).toBeGreaterThan(5);
    expect(docs.flatMap(linksOf).length).toBeGreaterThan(20);
  });

  it.each(docs)("every relative link of %s reaches a file and, with #, a heading", (file) => {
    const broken = linksOf(file)
      .map((target) => ({ target, why: brokenLink(file, target) }))
      .filter(({ why }) => why !== null)
      .map(({ target, why }) => `${file}: (${target}) ${why}`);
    expect(broken).toEqual([]);
  });

  it.each(docs)("every repository path in backticks in %s exists", (file) => {
    const missing = pathsInBackticks(file)
      .filter((path) => !exists(path) && !GENERATED.has(path))
      .map((path) => `${file}: \`${path}\``);
    expect(missing).toEqual([]);
  });

  it.each(docs)(
    "every test file %s names by its bare name exists somewhere under test/",
    (file) => {
      const names = new Set([...files].map((path) => path.slice(path.lastIndexOf("/") + 1)));
      const missing = [...prose(readDoc(file)).matchAll(/`([\w.-]+\.test\.ts)`/g)]
        .map((match) => match[1] ?? "")
        .filter((name) => !names.has(name))
        .map((name) => `${file}: \`${name}\``);
      expect(missing).toEqual([]);
    },
  );

  it("has docs/README.md link every guide of docs/", () => {
    const linked = new Set(linksOf("docs/README.md").map((target) => target.split("#")[0]));
    const guides = docs.filter((file) => file.startsWith("docs/") && file !== "docs/README.md");
    expect(guides.filter((file) => !linked.has(file.slice("docs/".length)))).toEqual([]);
    expect(linksOf("README.md")).toEqual(
      expect.arrayContaining(["docs/README.md", "docs/strategies.md", "docs/deployment.md"]),
    );
  });

  it("catches a link to a missing file, a missing heading and a missing path", () => {
    expect(brokenLink("README.md", "docs/nowhere.md")).toBe("no such file");
    expect(brokenLink("README.md", "docs/strategies.md#no-such-heading")).toMatch(/no heading/);
    expect(brokenLink("docs/strategies.md", "benchmarks.md#goals")).toBeNull();
    expect(brokenLink("README.md", "#benchmarks")).toBeNull();
    expect(exists("src/stores/nowhere.ts")).toBe(false);
    expect(slug("`hybrid` refresh tokens: rotation and reuse")).toBe(
      "hybrid-refresh-tokens-rotation-and-reuse",
    );
  });
});
