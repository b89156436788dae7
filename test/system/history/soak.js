#!/usr/bin/env node
// The long form of the history checker, for `npm run soak`:
//   node test/system/history/soak.js --minutes 10 --store redis [--store postgres] [--clients 6]
//        [--seed N] [--out report.json] [--history-dir DIR]
//   node test/system/history/soak.js --check DIR/history-….json   (the offline checker on a saved history)
// Runs the built server (npm run build first). Prints the report as JSON and a table of the
// revocation windows; exits 1 when the checker finds a violation.
import { register } from "node:module";

register("./ts-hooks.mjs", import.meta.url);
const { main } = await import("./soak-run.ts");
process.exitCode = await main(process.argv.slice(2));
