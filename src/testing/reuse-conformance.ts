import { randomBytes } from "node:crypto";
import { afterAll, expect, it } from "vitest";
import { createSessionManager } from "../core/manager.js";
import { RETIRED_KEPT } from "../core/strategies/retired.js";
import type { SessionStore } from "../stores/types.js";
import { generateKeySet } from "../tokens/keys.js";

/** What the refresh-reuse tests need from the suite that registers them. */
export interface ReuseTestContext {
  /** The store under test (opened by the suite before the tests run). */
  store(): SessionStore;
}

const GRACE = 10_000;
/** Past the grace: the refresh it follows is no longer a race any client could be losing. */
const LATER = GRACE + 1_000;
/** How many rotations back a replaced refresh token is still recognised. */
const RECOGNISED = RETIRED_KEPT + 1;

/**
 * Refresh-token reuse detection through a `hybrid` manager on the store under test: the store
 * must keep what `rotate` is given, so that a refresh token any number of rotations old, up to
 * the bound, is recognised as reuse and revokes the session, while a secret never issued for
 * the session (its id is public) revokes nothing.
 */
export function registerReuseTests(ctx: ReuseTestContext): void {
  const keys = generateKeySet("EdDSA", "reuse");
  const managers: Array<{ close(): void }> = [];
  afterAll(() => {
    for (const m of managers) m.close();
  });

  /** A manager on the store, with its own clock (near the wall clock: Redis expires by it). */
  const setup = () => {
    let now = Date.now();
    const reuses: string[] = [];
    const manager = createSessionManager({
      strategy: "hybrid",
      store: ctx.store(),
      keys,
      issuer: "https://app.example",
      audience: "app",
      clock: () => now,
      cleanup: false,
      lifetimes: { idle: "30m", absolute: "12h", access: "5m", grace: `${GRACE / 1000}s` },
      events: { onRefreshReuse: (e) => reuses.push(e.sessionId) },
    });
    managers.push(manager);
    const refresh = (token: string) =>
      manager.refresh(new Request("https://app.example/refresh", { method: "POST" }), {
        refreshToken: token,
      });
    /**
     * A new session refreshed `times` times, `every` ms apart, and every refresh token it was
     * given, oldest first; the clock then stands `after` ms past the last refresh.
     */
    const rotated = async (times: number, every = LATER, after = LATER) => {
      const issued = await manager.create({ userId: `user-${rid()}`, transport: "header" });
      const tokens = [issued.refreshToken ?? ""];
      for (let i = 0; i < times; i++) {
        now += every;
        const next = await refresh(tokens.at(-1) ?? "");
        expect(next.failure, `refresh ${i + 1}`).toBeNull();
        tokens.push(next.refreshToken ?? "");
      }
      now += after;
      return { id: issued.session.id, tokens };
    };
    const stored = () => ctx.store().get.bind(ctx.store());
    const advance = (ms: number) => {
      now += ms;
    };
    return { refresh, rotated, reuses, advance, now: () => now, get: stored() };
  };

  it.each([2, 3, RECOGNISED])(
    "a refresh token %i rotations old, after the grace, is reuse: the session is revoked and onRefreshReuse fires",
    async (back) => {
      const { refresh, rotated, reuses, get, now } = setup();
      const { id, tokens } = await rotated(back + 1);
      const old = tokens.at(-1 - back) ?? "";
      const reused = await refresh(old);
      expect(reused.failure?.reason).toBe("reused");
      expect(reuses).toEqual([id]);
      expect(await get(id, now())).toBeNull();
      // The whole family is gone: the current refresh token too.
      expect((await refresh(tokens.at(-1) ?? "")).failure?.reason).toBe("unknown_session");
    },
  );

  it("a token whose own grace is over is reuse even inside the grace of a newer rotation", async () => {
    const { refresh, rotated, reuses, get, now } = setup();
    const { id, tokens } = await rotated(3, LATER, 1_000);
    expect((await refresh(tokens[0] ?? "")).failure?.reason).toBe("reused");
    expect(reuses).toEqual([id]);
    expect(await get(id, now())).toBeNull();
  });

  it("a token two rotations old still inside its own grace is refused and revokes nothing; after it, reuse", async () => {
    const { refresh, rotated, reuses, advance, get, now } = setup();
    // Refreshed twice within one grace: a client that lost both races may still hold the first.
    const { id, tokens } = await rotated(2, 2_000, 1_000);
    expect((await refresh(tokens[0] ?? "")).failure?.reason).toBe("bad_secret");
    expect(reuses).toEqual([]);
    expect(await get(id, now())).not.toBeNull();
    advance(GRACE);
    expect((await refresh(tokens[0] ?? "")).failure?.reason).toBe("reused");
    expect(reuses).toEqual([id]);
  });

  it("a secret never issued, with the session's real id, is refused and revokes nothing", async () => {
    const { refresh, rotated, reuses, get, now } = setup();
    const { id, tokens } = await rotated(4);
    for (let i = 0; i < 20; i++) {
      const forged = `${id}.${randomBytes(32).toString("base64url")}`;
      expect((await refresh(forged)).failure?.reason).toBe("bad_secret");
    }
    expect(reuses).toEqual([]);
    expect(await get(id, now())).not.toBeNull();
    expect((await refresh(tokens.at(-1) ?? "")).failure).toBeNull();
  });

  it("what a session remembers of its replaced secrets stays bounded however often it rotates", async () => {
    const { refresh, rotated, reuses, get, now } = setup();
    const { id, tokens } = await rotated(3 * RECOGNISED);
    const record = await get(id, now());
    // The previous secret's full hash, then a short prefix of each older one.
    expect(record?.previousSecretHash?.split(/[.~]/)).toHaveLength(RECOGNISED);
    expect(record?.previousSecretHash?.length).toBeLessThanOrEqual(43 + (RECOGNISED - 1) * 17);
    // Past the bound, an old token is only refused; the oldest one remembered is reuse.
    expect((await refresh(tokens.at(-2 - RECOGNISED) ?? "")).failure?.reason).toBe("bad_secret");
    expect(reuses).toEqual([]);
    expect((await refresh(tokens.at(-1 - RECOGNISED) ?? "")).failure?.reason).toBe("reused");
    expect(reuses).toEqual([id]);
  });
}

const rid = () => randomBytes(16).toString("base64url");
