import fc from "fast-check";
import { describe, it } from "vitest";
import type { StrategyName } from "../../../src/index.js";
import { serviceAvailable } from "../../helpers/services.js";
import { commandArbitraries } from "./commands.js";
import type { Model } from "./model.js";
import { type Backend, createSystem } from "./system.js";

/** Runs per variant in the suite; `npm run soak` raises it (SESSIONKIT_MODEL_RUNS). */
const RUNS = Number(process.env.SESSIONKIT_MODEL_RUNS ?? 6);
const COMMANDS = Number(process.env.SESSIONKIT_MODEL_COMMANDS ?? 30);
const SEED = process.env.SESSIONKIT_MODEL_SEED;
/** With the seed, the path fast-check printed: replays the shrunk counterexample directly. */
const PATH = process.env.SESSIONKIT_MODEL_PATH;
const REPLAY = process.env.SESSIONKIT_MODEL_REPLAY;
/** For the soak: each variant runs for this long instead of a number of runs. */
const MINUTES = Number(process.env.SESSIONKIT_MODEL_MINUTES ?? 0);

const VARIANTS: Array<{ strategy: StrategyName; cache: boolean }> = [
  { strategy: "id", cache: false },
  { strategy: "id", cache: true },
  { strategy: "jwt", cache: false },
  { strategy: "hybrid", cache: false },
];

const SERVICES: Partial<Record<Backend, [string, number]>> = {
  postgres: ["PostgreSQL", 5432],
  redis: ["Redis", 6379],
};

/**
 * The model-based property for one backend: random command sequences (sign-in, requests,
 * renewal, rotation and updates raced from two instances, revocations, sign-out, clock jumps,
 * restarts, network cuts) against three instances sharing the backend, each step checked
 * against the model's invariants I1-I6 (docs/security.md). A failure prints the seed and
 * the shrunk command list; SESSIONKIT_MODEL_SEED replays it.
 */
export function describeModel(backend: Backend, options: { clusterUrl?: string } = {}) {
  describe(`model-based: three instances on ${backend}`, async () => {
    const service = SERVICES[backend];
    const up = service ? await serviceAvailable(...service) : true;
    for (const { strategy, cache } of VARIANTS) {
      it.skipIf(!up)(
        `${strategy}${cache ? " with the local cache" : ""} keeps I1-I6`,
        {
          timeout: 600_000 + MINUTES * 120_000,
        },
        async () => {
          const details = await fc.check(
            fc.asyncProperty(
              fc.commands(commandArbitraries(3), {
                maxCommands: COMMANDS,
                size: "max",
                // The counterexample's `replayPath` comment: with the seed and path, the exact
                // shrunk command list.
                ...(REPLAY ? { replayPath: REPLAY } : {}),
              }),
              async (commands) => {
                const sys = await createSystem({ backend, strategy, cache }, 3, options.clusterUrl);
                try {
                  await fc.asyncModelRun(
                    () => ({ model: { sessions: [] } as Model, real: sys }),
                    commands,
                  );
                } finally {
                  await sys.close();
                }
              },
            ),
            {
              ...(SEED ? { seed: Number(SEED) } : {}),
              ...(PATH ? { path: PATH } : {}),
              ...(MINUTES > 0
                ? { numRuns: 1e9, interruptAfterTimeLimit: MINUTES * 60_000 }
                : { numRuns: RUNS }),
            },
          );
          console.log(
            `model ${backend} ${strategy}${cache ? "+cache" : ""}: ${details.numRuns} runs, ` +
              `${details.failed ? "FAILED" : "no violation"} (seed ${details.seed})`,
          );
          if (details.failed) {
            throw new Error(
              `${fc.defaultReportMessage(details)}\nCaused by: ${String(details.errorInstance)}`,
            );
          }
        },
      );
    }
  });
}
