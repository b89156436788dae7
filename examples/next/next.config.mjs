import { fileURLToPath } from "node:url";

/** @type {import("next").NextConfig} */
export default {
  // The app lives inside the sessionkit repository and uses its node_modules.
  turbopack: { root: fileURLToPath(new URL("../..", import.meta.url)) },
  // The e2e test builds into a directory of its own (NEXT_DIST_DIR), git-ignored as .next is.
  distDir: process.env.NEXT_DIST_DIR ?? ".next",
  // One copy of sessionkit for the proxy, the route handlers and the pages, loaded by Node
  // rather than bundled into each.
  serverExternalPackages: ["sessionkit"],
};
