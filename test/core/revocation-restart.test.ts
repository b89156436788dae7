import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createSessionManager, type SessionManager, type SessionStore } from "../../src/index.js";
import { memoryStore } from "../../src/stores/memory/index.js";
import { sqliteStore } from "../../src/stores/sqlite/index.js";
import { generateKeySet } from "../../src/tokens/index.js";
import { manualClock, requestWith } from "../helpers/manager.js";
import { tempDir } from "../helpers/tmp.js";

// After a restart (a new store instance, the same keys), every jwt/hybrid manager must refuse
// the tokens revoked before it, whichever subscribed to the store first. A store that forgets
// its revocations (memory) must refuse every token issued before it started.
const keys = generateKeySet("HS256", "k1");
const common = { keys, issuer: "https://app.example", audience: "app", cleanup: false as const };
type Strategy = "jwt" | "hybrid";

const managersOn = (store: SessionStore, order: Strategy[]) =>
  Object.fromEntries(
    order.map((strategy) => [
      strategy,
      createSessionManager({ ...common, strategy, store, audience: `app/${strategy}` }),
    ]),
  ) as Record<Strategy, SessionManager>;
const bearer = (token: string) => requestWith({ bearer: token });
const closeAll = (managers: Record<Strategy, SessionManager>) => {
  for (const m of Object.values(managers)) m.close();
};

describe("revocations across a restart", () => {
  for (const order of [
    ["jwt", "hybrid"],
    ["hybrid", "jwt"],
  ] as Strategy[][]) {
    it(`sqlite: managers subscribed ${order.join(" then ")} both relearn the revocations`, async () => {
      const path = join(tempDir(), "restart.sqlite");
      const before = sqliteStore({ path });
      const first = managersOn(before, ["jwt", "hybrid"]);
      const tokens: Record<Strategy, string> = { jwt: "", hybrid: "" };
      for (const strategy of ["jwt", "hybrid"] as const) {
        const issued = await first[strategy].create({ userId: "u1", transport: "header" });
        tokens[strategy] = issued.token;
        expect((await first[strategy].logout(bearer(issued.token))).revoked).toBe(true);
      }
      closeAll(first);
      await before.close();

      const after = sqliteStore({ path });
      const second = managersOn(after, order);
      await new Promise((resolve) => setTimeout(resolve, 100)); // a poll or two
      for (const strategy of ["jwt", "hybrid"] as const) {
        const result = await second[strategy].authenticate(bearer(tokens[strategy]));
        expect(result.failure?.reason, strategy).toBe("revoked");
      }
      closeAll(second);
      await after.close();
    });
  }

  it("memory: tokens issued before the store started are refused; new ones work at once", async () => {
    const before = memoryStore();
    const first = managersOn(before, ["jwt", "hybrid"]);
    const old: Array<[Strategy, string]> = [];
    for (const strategy of ["jwt", "hybrid"] as const) {
      const kept = await first[strategy].create({ userId: "u1", transport: "header" });
      const revoked = await first[strategy].create({ userId: "u1", transport: "header" });
      await first[strategy].revoke(revoked.session.id);
      old.push([strategy, kept.token], [strategy, revoked.token]);
    }
    closeAll(first);
    // A restart takes longer than the millisecond in which `iat` and the store's start compare.
    await new Promise((resolve) => setTimeout(resolve, 5));

    const after = memoryStore(); // a new process: the revocations are gone, the keys are not
    const second = managersOn(after, ["jwt", "hybrid"]);
    for (const [strategy, token] of old) {
      const result = await second[strategy].authenticate(bearer(token));
      expect(result.failure?.reason, strategy).toBe("revoked");
    }
    for (const strategy of ["jwt", "hybrid"] as const) {
      // Signed in within the same second as the restart: accepted.
      const fresh = await second[strategy].create({ userId: "u1", transport: "header" });
      expect((await second[strategy].authenticate(bearer(fresh.token))).session?.id).toBe(
        fresh.session.id,
      );
    }
    closeAll(second);
  });

  it("memory: a manager made later in the same process, after an injected clock jumped, accepts the tokens of the first", async () => {
    // Found by the model-based runs: each manager drew the store's start on its own clock, so
    // a jump of the injected clock between the two moved the line past live tokens.
    const clock = manualClock();
    const store = memoryStore();
    const first = createSessionManager({ ...common, strategy: "hybrid", store, clock: clock.now });
    const { token } = await first.create({ userId: "u1", transport: "header" });
    clock.advance(60_000);
    const later = createSessionManager({ ...common, strategy: "hybrid", store, clock: clock.now });
    try {
      expect((await later.authenticate(bearer(token ?? ""))).session?.userId).toBe("u1");
    } finally {
      first.close();
      later.close();
      await store.close();
    }
  });
});
