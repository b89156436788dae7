// Revocation propagation on SQLite: two store instances on one file (each as another process
// would open it, each with its own manager); revoke through one, time until the other's jwt
// verification refuses the token. 200 revocations; p50 and p99.
import { createSessionManager } from "../dist/index.js";
import { sqliteStore } from "../dist/stores/sqlite/index.js";
import { generateKeySet } from "../dist/tokens/index.js";
import { tempSqlitePath } from "./servers/common.js";

export async function runRevocation({ count = 200, pollIntervalMs = 50 } = {}) {
  const path = tempSqlitePath();
  const keys = generateKeySet("HS256", "rev");
  const options = {
    strategy: "jwt",
    keys,
    issuer: "https://bench.example",
    audience: "bench",
    cleanup: false,
  };
  const storeA = sqliteStore({ path, pollIntervalMs });
  const storeB = sqliteStore({ path, pollIntervalMs });
  const a = createSessionManager({ ...options, store: storeA });
  const b = createSessionManager({ ...options, store: storeB });
  const delays = [];
  for (let i = 0; i < count; i++) {
    const { token, session } = await a.create({ userId: `u${i % 20}` });
    const request = { method: "GET", headers: new Headers({ authorization: `Bearer ${token}` }) };
    if (!(await b.authenticate(request)).session) throw new Error("not accepted before revocation");
    // Revoke at a random moment of the poll cycle, not in step with it.
    await new Promise((resolve) => setTimeout(resolve, Math.random() * pollIntervalMs));
    const start = performance.now();
    await a.revoke(session.id);
    while ((await b.authenticate(request)).session)
      await new Promise((resolve) => setTimeout(resolve, 1));
    delays.push(performance.now() - start);
  }
  a.close();
  b.close();
  await storeA.close();
  await storeB.close();
  delays.sort((x, y) => x - y);
  const at = (q) =>
    +(delays[Math.min(delays.length - 1, Math.floor(q * delays.length))] ?? 0).toFixed(1);
  return {
    store: "sqlite",
    pollIntervalMs,
    count,
    p50ms: at(0.5),
    p99ms: at(0.99),
    maxms: +(delays.at(-1) ?? 0).toFixed(1),
  };
}
