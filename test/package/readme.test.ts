import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

// The README's TypeScript samples, as a reader would paste them: all of them compile against
// the built package (strict), and the ones that do not need the test runner run, in order,
// as one program.
const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const readme = readFileSync(join(ROOT, "README.md"), "utf8");
const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1] ?? "");
const underTestRunner = (block: string) => block.includes("sessionkit/testing");
// Inside the package, so that `sessionkit/...` resolves to it as it does for a user.
const dir = mkdtempSync(join(ROOT, ".readme-check-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("README code samples", () => {
  it("compile, and run with the output their comments show", () => {
    expect(blocks.length).toBeGreaterThanOrEqual(4);
    writeFileSync(join(dir, "main.ts"), blocks.filter((b) => !underTestRunner(b)).join("\n"));
    writeFileSync(join(dir, "testing.ts"), blocks.filter(underTestRunner).join("\n"));
    writeFileSync(
      join(dir, "tsconfig.json"),
      JSON.stringify({
        extends: "../tsconfig.json",
        compilerOptions: { rootDir: ".", outDir: "out", declaration: false, sourceMap: false },
        include: ["*.ts"],
      }),
    );
    const tsc = spawnSync(
      process.execPath,
      [join(ROOT, "node_modules/typescript/bin/tsc"), "-p", dir],
      {
        encoding: "utf8",
      },
    );
    expect(tsc.stdout + tsc.stderr).toBe("");
    expect(tsc.status).toBe(0);
    const run = spawnSync(process.execPath, [join(dir, "out", "main.js")], {
      cwd: dir,
      encoding: "utf8",
      timeout: 30_000,
    });
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
    expect(run.stdout.trim().split("\n")).toEqual(["u-alice", "u-alice", "true"]);
  }, 120_000);
});
