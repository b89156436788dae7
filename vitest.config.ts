import { readFileSync } from "node:fs";
import { defineConfig } from "vitest/config";

// `sessionkit/...` imports (the examples use them) resolve to the sources under test, one copy
// of every module with the tests; outside vitest they resolve to dist through the exports map.
const exportsMap = JSON.parse(readFileSync(new URL("./package.json", import.meta.url), "utf8"))
  .exports as Record<string, string | { default: string }>;
const alias = Object.entries(exportsMap)
  .filter(([, target]) => typeof target === "object")
  .map(([subpath, target]) => ({
    find: new RegExp(`^${`sessionkit${subpath.slice(1)}`.replace(/[/.]/g, "\\$&")}$`),
    replacement: new URL(
      (target as { default: string }).default
        .replace(/^\.\/dist\//, "./src/")
        .replace(/\.js$/, ".ts"),
      import.meta.url,
    ).pathname,
  }));

export default defineConfig({
  resolve: { alias },
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    pool: "forks",
  },
});
