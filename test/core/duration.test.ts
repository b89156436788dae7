import { describe, expect, expectTypeOf, it } from "vitest";
import {
  createSessionManager,
  type Duration,
  isSessionError,
  parseDuration,
  type SessionManagerOptions,
  tryParseDuration,
} from "../../src/index.js";
import { memoryStore } from "../../src/stores/memory/index.js";

// Durations come from code ("30m", 1800000) and from the environment, where every value is a
// `string`: both compile, and a bad one is refused when the manager is created.

describe("Duration: the type", () => {
  it("accepts a plain string (process.env) as well as numbers and the literal forms", () => {
    // Checked by `tsc --noEmit -p .`: this file would not compile if `string` were refused.
    expectTypeOf<string>().toExtend<Duration>();
    expectTypeOf<number>().toExtend<Duration>();
    expectTypeOf<"30m">().toExtend<Duration>();
    expectTypeOf<boolean>().not.toExtend<Duration>();
    const fromEnv: string | undefined = process.env.SESSIONKIT_TEST_UNSET_IDLE;
    const lifetimes: SessionManagerOptions["lifetimes"] = { idle: fromEnv ?? "30m" };
    // @ts-expect-error an object is not a duration
    const notOne: Duration = { minutes: 30 };
    expect(lifetimes?.idle).toBe("30m");
    expect(notOne).toBeDefined();
  });
});

describe("Duration: what parses", () => {
  it.each([
    ["30m", 1_800_000],
    ["500ms", 500],
    ["1.5h", 5_400_000],
    ["7d", 604_800_000],
    [" 30m\n", 1_800_000], // an env file's line, newline and all
    ["30 m", 1_800_000],
    ["10\ts", 10_000],
    [250, 250],
  ] as const)("%j is %d ms", (value, ms) => {
    expect(tryParseDuration(value)).toBe(ms);
  });

  it.each([
    "",
    "   ",
    "1800", // seconds or milliseconds? a unit is required in a string
    "30M", // months, elsewhere
    "30min",
    "1 hour",
    "-1m",
    "+1m",
    "0s",
    "0.0001ms", // rounds to 0
    "1e3s",
    "30m30s",
    "m",
  ])("%j is refused", (value) => {
    expect(tryParseDuration(value)).toBeNull();
  });

  it("names the option and quotes the value when it throws", () => {
    const thrown = (() => {
      try {
        parseDuration("30 minutes", "lifetimes.idle");
      } catch (error) {
        return error;
      }
    })();
    expect(isSessionError(thrown, "CONFIG_INVALID")).toBe(true);
    expect((thrown as Error).message).toBe(
      'lifetimes.idle: "30 minutes" is not a positive duration such as "30m" (units ms, s, m, h, d) or a number of ms',
    );
  });
});

describe("Duration: from the environment into createSessionManager", () => {
  const withEnv = (value: string) => {
    process.env.SESSIONKIT_TEST_IDLE = value;
    try {
      // Exactly what an application writes: the env value, typed `string`, as the option.
      const idle: string = process.env.SESSIONKIT_TEST_IDLE ?? "30m";
      return createSessionManager({
        strategy: "id",
        store: memoryStore(),
        cleanup: false,
        lifetimes: { idle, absolute: "12h" },
      });
    } finally {
      delete process.env.SESSIONKIT_TEST_IDLE;
    }
  };

  it("a good env string makes a manager with that idle lifetime", async () => {
    const manager = withEnv(" 45 m ");
    try {
      const before = Date.now();
      const { session } = await manager.create({ userId: "u1" });
      const idle = session.expiresAt.getTime() - before;
      expect(idle).toBeGreaterThanOrEqual(45 * 60_000 - 1000);
      expect(idle).toBeLessThanOrEqual(45 * 60_000 + 1000);
    } finally {
      manager.close();
    }
  });

  it("a bad env string throws CONFIG_INVALID naming the option, at construction", () => {
    let thrown: unknown;
    try {
      withEnv("30 minutes").close();
    } catch (error) {
      thrown = error;
    }
    expect(isSessionError(thrown, "CONFIG_INVALID")).toBe(true);
    expect((thrown as Error).message).toMatch(/^lifetimes\.idle: "30 minutes" is not/);
  });
});
