// `node --expose-gc bench/hot-path.js [DIST]`: what sessionkit itself costs per request, in
// this process, without HTTP: `authenticateNode` (the node:http adapter) on a request carrying
// a live session, for each strategy, as µs per call (median of interleaved rounds). DIST is a
// build of sessionkit (default: this checkout's dist/), so that two builds can be compared on
// one machine. Used for "where the time goes" in docs/benchmarks.md.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

const dist = resolve(process.argv[2] ?? new URL("../dist", import.meta.url).pathname);
const load = (path) => import(pathToFileURL(join(dist, path)).href);
const { createSessionManager } = await load("index.js");
const { authenticateNode } = await load("adapters/node.js");
const { memoryStore } = await load("stores/memory/index.js");
const { sqliteStore } = await load("stores/sqlite/index.js");

const dir = mkdtempSync(join(tmpdir(), "sessionkit-hot-path-"));
process.on("exit", () => rmSync(dir, { recursive: true, force: true }));
const keys = {
  keys: [{ kty: "oct", kid: "bench", alg: "HS256", k: Buffer.alloc(32, 7).toString("base64url") }],
};

async function setup(kind) {
  const store =
    kind === "id-sqlite-cache" ? sqliteStore({ path: join(dir, `${kind}.db`) }) : memoryStore();
  const strategy = kind.startsWith("id") ? "id" : kind;
  const manager = createSessionManager({
    strategy,
    store,
    cleanup: false,
    ...(strategy === "id"
      ? kind.endsWith("cache")
        ? { cache: { maxAge: "1s" } }
        : {}
      : { keys, issuer: "https://bench.example", audience: "bench", lifetimes: { access: "5m" } }),
  });
  const { token } = await manager.create({ userId: "u1", userAgent: "bench" });
  const name =
    manager.cookieNames[strategy === "id" ? "session" : strategy === "jwt" ? "jwt" : "access"];
  const cookie = `${name}=${token}`;
  const headers = { host: "127.0.0.1", "user-agent": "autocannon", accept: "*/*", cookie };
  const rawHeaders = Object.entries(headers).flat();
  const req = {
    method: "GET",
    url: "/me",
    headers,
    rawHeaders,
    socket: { remoteAddress: "127.0.0.1" },
  };
  return { req, manager };
}

/** A ServerResponse as far as the adapter touches it. */
function response() {
  const set = new Map();
  return {
    headersSent: false,
    hasHeader: (n) => set.has(n),
    getHeader: (n) => set.get(n),
    setHeader: (n, v) => set.set(n, v),
    end() {},
  };
}

const KINDS = ["id-memory", "id-sqlite-cache", "jwt", "hybrid"];
const cases = [];
for (const kind of KINDS) cases.push({ kind, ...(await setup(kind)) });
for (const c of cases) {
  const session = await authenticateNode(c.manager, c.req, response());
  if (!session) throw new Error(`${c.kind}: not signed in`);
}

async function round(c, ms = 300) {
  let n = 0;
  const start = process.hrtime.bigint();
  const until = start + BigInt(ms) * 1_000_000n;
  while (process.hrtime.bigint() < until) {
    for (let i = 0; i < 200; i++) await authenticateNode(c.manager, c.req, response());
    n += 200;
  }
  return Number(process.hrtime.bigint() - start) / 1000 / n;
}

const samples = Object.fromEntries(KINDS.map((k) => [k, []]));
for (const c of cases) await round(c, 300); // warm-up
for (let r = 0; r < 7; r++) for (const c of cases) samples[c.kind].push(await round(c));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const out = Object.fromEntries(
  KINDS.map((k) => [
    k,
    {
      "µs/request (median)": +median(samples[k]).toFixed(2),
      min: +Math.min(...samples[k]).toFixed(2),
      max: +Math.max(...samples[k]).toFixed(2),
    },
  ]),
);
console.log(`authenticateNode, ${dist}`);
console.table(out);
console.log(JSON.stringify({ dist, results: out }));
process.exit(0);
