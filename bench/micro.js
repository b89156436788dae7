// Token micro-benchmarks, in this process: time per operation, after a warm-up.
import { createSessionManager } from "../dist/index.js";
import { memoryStore } from "../dist/stores/memory/index.js";
import { sqliteStore } from "../dist/stores/sqlite/index.js";
import { generateOpaqueToken, hashSecret, parseOpaqueToken } from "../dist/tokens/opaque.js";
import { measure } from "./measure.js";
import { tempSqlitePath } from "./servers/common.js";

export async function runMicro() {
  const results = [];
  results.push(
    await measure("opaque token: generate (randomBytes + SHA-256)", () => generateOpaqueToken()),
  );
  const t = generateOpaqueToken();
  results.push(
    await measure("opaque token: parse + hash", () => hashSecret(parseOpaqueToken(t.token).secret)),
  );
  for (const kind of ["memory", "sqlite", "sqlite-cache"]) {
    const store = kind === "memory" ? memoryStore() : sqliteStore({ path: tempSqlitePath() });
    const manager = createSessionManager({
      strategy: "id",
      store,
      cleanup: false,
      cache: kind === "sqlite-cache" ? { maxAge: "1s" } : false,
      maxSessionsPerUser: 1_000_000,
    });
    let n = 0;
    results.push(
      await measure(`id create (${kind})`, () => manager.create({ userId: `u${n++ % 5000}` })),
    );
    const { token } = await manager.create({ userId: "reader" });
    const request = { method: "GET", headers: new Headers({ cookie: `__Host-sid=${token}` }) };
    results.push(await measure(`id authenticate (${kind})`, () => manager.authenticate(request)));
    manager.close();
    await store.close();
  }
  return results;
}
