import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository's root, from test/helpers/. */
export const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** The Markdown a reader of the repository meets: README.md and every docs/*.md. */
export function documentationFiles(): string[] {
  const docs = readdirSync(join(ROOT, "docs"))
    .filter((name) => name.endsWith(".md"))
    .sort()
    .map((name) => `docs/${name}`);
  return ["README.md", ...docs];
}

export interface FencedBlock {
  file: string;
  /** 1-based line of the opening fence. */
  line: number;
  lang: string;
  text: string;
}

/** Every fenced code block of a Markdown text (``` fences, as the README and docs use). */
export function fencedBlocks(file: string, markdown: string): FencedBlock[] {
  const blocks: FencedBlock[] = [];
  const lines = markdown.split("\n");
  let open: { line: number; lang: string; body: string[] } | null = null;
  lines.forEach((line, index) => {
    const fence = /^\s*```(.*)$/.exec(line);
    if (open === null) {
      if (fence) open = { line: index + 1, lang: (fence[1] ?? "").trim(), body: [] };
    } else if (fence && (fence[1] ?? "").trim() === "") {
      blocks.push({ file, line: open.line, lang: open.lang, text: open.body.join("\n") });
      open = null;
    } else {
      open.body.push(line);
    }
  });
  return blocks;
}

export function readDoc(file: string): string {
  return readFileSync(join(ROOT, file), "utf8");
}

/**
 * The files of the repository: tracked, or new and not ignored (so that a doc may name a file
 * added in the same change), never what .gitignore keeps out (dist/, data/, results of runs).
 */
export function repositoryFiles(): Set<string> {
  const out = execFileSync("git", ["ls-files", "--cached", "--others", "--exclude-standard"], {
    cwd: ROOT,
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  return new Set(out.split("\n").filter((path) => path !== ""));
}
