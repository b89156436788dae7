import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  createSessionManager,
  isSessionError,
  type Lifetimes,
  type SessionManagerOptions,
  type SessionStore,
} from "../../src/index.js";
import { resolveServerConfig } from "../../src/server/config.js";
import { memoryStore } from "../../src/stores/memory/index.js";
import { sqliteStore } from "../../src/stores/sqlite/index.js";
import { generateKeySet } from "../../src/tokens/index.js";
import { manualClock, ORIGIN, requestWith } from "../helpers/manager.js";
import { tempDir } from "../helpers/tmp.js";

// A revoked token must stay refused for as long as the verifier could accept it: until its
// `exp` plus the verifier's 30 s clock skew, whatever the record's own expiry, and in every
// instance, including one that starts after the record expired.
const keys = generateKeySet("HS256", "k1");
const MIN = 60_000;
const SKEW = 30_000;
const claimsOf = (token: string) =>
  JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString()) as {
    exp: number;
    sid: string;
  };

function setup(
  strategy: "jwt" | "hybrid",
  overrides: Partial<SessionManagerOptions> = {},
  store: SessionStore = memoryStore(),
) {
  const clock = manualClock();
  const manager = createSessionManager({
    strategy,
    store,
    keys,
    issuer: "https://app.example",
    audience: "app",
    clock: clock.now,
    cleanup: false,
    csrf: { origins: [ORIGIN] },
    lifetimes: { idle: "30m", absolute: "12h", access: "5m" },
    ...overrides,
  });
  return { manager, clock, store };
}
const withToken = (token: string) => requestWith({ bearer: token });

describe("revocation window", () => {
  for (const strategy of ["jwt", "hybrid"] as const) {
    it(`${strategy}: a revoked token stays refused until its exp plus the verifier's skew`, async () => {
      // jwt: a token at its absolute limit is never re-issued, so nothing reads the store.
      const lifetimes: Lifetimes = {
        idle: "5m",
        absolute: strategy === "jwt" ? "5m" : "1h",
        access: "5m",
      };
      const { manager, clock } = setup(strategy, { lifetimes });
      const { token, session } = await manager.create({ userId: "u1", transport: "header" });
      const { exp } = claimsOf(token);
      expect(await manager.revoke(session.id)).toBe(true);
      clock.advance(exp * 1000 + SKEW - 1000 - clock.now());
      const late = await manager.authenticate(withToken(token));
      expect(late.failure?.reason).toBe("revoked");
      clock.advance(2000);
      expect((await manager.authenticate(withToken(token))).failure?.reason).toBe("expired");
      manager.close();
    });
  }

  it("hybrid: refuses an access lifetime longer than the idle lifetime at construction", () => {
    let error: unknown;
    try {
      setup("hybrid", { lifetimes: { idle: "10m", access: "15m" } });
    } catch (e) {
      error = e;
    }
    expect(isSessionError(error, "CONFIG_INVALID")).toBe(true);
  });

  /**
   * A memory store on which a revocation lands between a caller's read and its touch, once
   * armed, as another request or instance would make it: a token signed after such a touch
   * would outlive the revoked record's expiry, which is all the revocation sets remember.
   */
  function racingStore() {
    const real = memoryStore();
    const race = { armed: false };
    const store = new Proxy(real, {
      get(target, name, receiver) {
        if (name === "touch") {
          return async (id: string, input: Parameters<SessionStore["touch"]>[1]) => {
            if (race.armed) {
              race.armed = false;
              await real.delete(id, "revoked");
            }
            return real.touch(id, input);
          };
        }
        const value = Reflect.get(target, name, receiver);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    return { store, race };
  }

  it("jwt: a re-issue that loses the race to a revocation hands out no token", async () => {
    const { store, race } = racingStore();
    const { manager, clock } = setup("jwt", { lifetimes: { idle: "30m" } }, store);
    const { token } = await manager.create({ userId: "u1", transport: "header" });
    clock.advance(16 * MIN); // past half its life: the next request re-issues
    race.armed = true;
    const result = await manager.authenticate(withToken(token));
    expect(result.renewedToken).toBeNull();
    expect(result.failure?.reason).toBe("revoked");
    manager.close();
  });

  it("hybrid: a refresh that loses the race to a revocation hands out no token", async () => {
    const { store, race } = racingStore();
    const { manager, clock } = setup("hybrid", {}, store);
    const issued = await manager.create({ userId: "u1", transport: "header" });
    clock.advance(6 * MIN);
    race.armed = true;
    const refreshed = await manager.refresh(requestWith({ method: "POST" }), {
      refreshToken: issued.refreshToken ?? "",
    });
    expect(refreshed.accessToken).toBeNull();
    expect(refreshed.failure?.reason).toBe("revoked");
    manager.close();
  });

  it("the reference server refuses --access longer than --idle before it starts", () => {
    expect(() => resolveServerConfig({ idle: "10m", access: "15m" }, {})).toThrow(
      "--access must not exceed --idle",
    );
  });

  it("jwt: an instance started after the record expired still learns the revocation from the log", async () => {
    // Wall-clock times here: the store's replay window follows the wall clock.
    const path = join(tempDir(), "window.sqlite");
    const options = {
      keys,
      issuer: "https://app.example",
      audience: "app",
      cleanup: false as const,
      // At its absolute limit the token is never re-issued: only the revocation set refuses it.
      lifetimes: { idle: "1s", absolute: "1s" } satisfies Lifetimes,
    };
    const storeA = sqliteStore({ path });
    const a = createSessionManager({ ...options, strategy: "jwt", store: storeA });
    const { token, session } = await a.create({ userId: "u1", transport: "header" });
    await a.revoke(session.id);
    await storeA.deleteExpired(Date.now() + 1500, 100); // cleanup may run meanwhile
    a.close();
    await storeA.close();
    await new Promise((resolve) => setTimeout(resolve, 1500)); // past the record's expiry
    const storeB = sqliteStore({ path });
    const b = createSessionManager({ ...options, strategy: "jwt", store: storeB });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(claimsOf(token).exp * 1000 + SKEW).toBeGreaterThan(Date.now());
    expect((await b.authenticate(withToken(token))).failure?.reason).toBe("revoked");
    b.close();
    await storeB.close();
  });
});
