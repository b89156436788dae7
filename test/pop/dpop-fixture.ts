import { randomUUID } from "node:crypto";
import {
  type DpopFailure,
  type DpopOptions,
  memoryReplayCache,
  PROOF_ALGORITHMS,
  verifyDpopProof,
} from "../../src/pop/index.js";

// What the DPoP tests share: a fixed server time, one target, one access token, and
// `check`, which answers "ok" or the failure code.
export const NOW = 1_900_000_000_000;
export const URL_ = "https://app.example/api/items";
export const TOKEN = "an-access-token.with~ascii";

export const options = (over: Partial<DpopOptions> = {}): DpopOptions => ({
  algorithms: PROOF_ALGORITHMS,
  now: NOW,
  replay: memoryReplayCache({ max: 1_000 }),
  ...over,
});
export const claims = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
  jti: randomUUID(),
  htm: "GET",
  htu: URL_,
  iat: NOW / 1000,
  ...over,
});
export const outcome = (result: { jkt: string } | DpopFailure) =>
  "code" in result ? result.code : "ok";
export const check = (
  proof: string | null,
  over: Partial<DpopOptions> = {},
  method = "GET",
  url = URL_,
) => outcome(verifyDpopProof(proof, { method, url }, options(over)));
