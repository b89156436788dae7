import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

// The package as users install it: its exports map, its types, what each entry point loads.
// Runs on dist (built by `npm test`'s pretest).
const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
  exports: Record<string, unknown>;
};
const subpaths = Object.keys(pkg.exports).filter((s) => s !== "./package.json");
const bin = (name: string, ...args: string[]) =>
  spawnSync(
    process.execPath,
    [fileURLToPath(new URL(`../../node_modules/${name}`, import.meta.url)), ...args],
    {
      cwd: ROOT,
      encoding: "utf8",
    },
  );

/** The packages (outside this one) that importing `specifier` resolved, by name. */
function packagesLoadedBy(specifier: string): string[] {
  const r = spawnSync(process.execPath, ["test/fixtures/import-trace.mjs", specifier], {
    cwd: ROOT,
    encoding: "utf8",
  });
  expect(r.status, r.stderr).toBe(0);
  const names = new Set<string>();
  for (const url of JSON.parse(r.stdout) as string[]) {
    const match = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
    if (match?.[1]) names.add(match[1]);
  }
  return [...names].sort();
}

// What each entry point may load: its own driver, nothing else (`./testing` brings vitest).
const ALLOWED: Record<string, RegExp> = {
  "./stores/sqlite": /^(better-sqlite3|bindings|file-uri-to-path)$/,
  "./stores/postgres": /^(pg|pg-.*|postgres-.*|pgpass|split2|xtend)$/,
  "./stores/redis": /^(redis|@redis\/.*|cluster-key-slot|generic-pool)$/,
};

const DRIVERS: Record<string, string> = {
  "./stores/sqlite": "better-sqlite3",
  "./stores/postgres": "pg",
  "./stores/redis": "redis",
};

describe("package surface", () => {
  it.each(subpaths)("%s resolves and imports from outside the source tree", (subpath) => {
    const specifier = `sessionkit${subpath.slice(1)}`;
    const r = spawnSync(process.execPath, ["-e", `await import(${JSON.stringify(specifier)})`], {
      cwd: ROOT,
      encoding: "utf8",
    });
    expect(r.status, r.stderr).toBe(0);
  });

  it.each(subpaths.filter((s) => s !== "./testing"))(
    "importing %s loads no other framework's or driver's code",
    (subpath) => {
      const loaded = packagesLoadedBy(`sessionkit${subpath.slice(1)}`);
      const allowed = ALLOWED[subpath] ?? /^$/;
      expect(loaded.filter((name) => !allowed.test(name))).toEqual([]);
      // The trace sees what is loaded: a store's own driver shows up in it.
      const driver = DRIVERS[subpath];
      if (driver) expect(loaded).toContain(driver);
    },
  );

  it("publint finds nothing to fix in the package", () => {
    const r = bin("publint/src/cli.js", "--strict");
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout + r.stderr).not.toMatch(/error|warning|suggestion/i);
  });

  it("types resolve for every entry point (arethetypeswrong, ESM under node16 and bundler)", () => {
    const r = bin(
      "@arethetypeswrong/cli/dist/index.js",
      "--pack",
      ".",
      "--profile",
      "esm-only",
      "--format",
      "json",
    );
    // ESM only: CommonJS `require` and the pre-exports `node10` resolution are out of scope.
    const report = JSON.parse(r.stdout) as {
      analysis: { problems: Array<{ resolutionKind?: string }> };
    };
    const esm = report.analysis.problems.filter(
      (p) => p.resolutionKind !== "node10" && p.resolutionKind !== "node16-cjs",
    );
    expect(esm).toEqual([]);
    expect(r.status).toBe(0);
  }, 120_000);
});
