import { normalizeOrigin } from "../csrf/origin.js";
import { configError } from "../errors.js";
import { isProofAlgorithm, PROOF_ALGORITHMS } from "../pop/jwk.js";
import { createNonces } from "../pop/nonce.js";
import { memoryReplayCache, perKeyReplayCache } from "../pop/replay.js";
import type { JsonObject } from "../stores/types.js";
import type { JwkSet } from "../tokens/keys.js";
import type { DpopSettings } from "./dpop.js";
import { parseDuration } from "./duration.js";
import { sharedKey } from "./shared-key.js";
import type { DpopOptions, SessionManagerOptions } from "./types.js";

const DPOP_DEFAULT_ALGORITHMS = ["ES256", "EdDSA", "Ed25519", "ES384", "PS256", "RS256"] as const;

/** The `dpop` option, checked once: a bad one throws `CONFIG_INVALID` at construction. */
export function normalizeDpop<Data extends JsonObject>(
  dpop: DpopOptions,
  options: SessionManagerOptions<Data>,
  keys: JwkSet | null,
): DpopSettings {
  if (typeof dpop !== "object" || dpop === null) {
    throw configError("dpop must be an object (dpop: {} for the defaults)");
  }
  // The binding lives with the record: a store that cannot keep it would let bound tokens
  // work without their key.
  if (typeof options.store.bind !== "function") {
    throw configError(`dpop: store "${options.store.name}" cannot keep a binding (no bind())`);
  }
  const algorithms = dpop.algorithms ?? [...DPOP_DEFAULT_ALGORITHMS];
  if (!Array.isArray(algorithms) || algorithms.length === 0) {
    throw configError("dpop.algorithms must list at least one algorithm");
  }
  for (const alg of algorithms) {
    if (!isProofAlgorithm(alg)) {
      throw configError(
        `dpop.algorithms: ${JSON.stringify(alg)} is not one of ${PROOF_ALGORITHMS.join(", ")}`,
      );
    }
  }
  const maxAgeMs = parseDuration(dpop.maxAge ?? "60s", "dpop.maxAge");
  if (maxAgeMs < 1000 || maxAgeMs > 300_000) {
    throw configError("dpop.maxAge must be between 1 second and 5 minutes");
  }
  let origin: string | null = null;
  if (dpop.origin !== undefined) {
    origin = normalizeOrigin(dpop.origin);
    if (!origin) throw configError(`dpop.origin: ${JSON.stringify(dpop.origin)} is not an origin`);
  }
  if (dpop.replay !== undefined && typeof dpop.replay?.firstUse !== "function") {
    throw configError("dpop.replay must have firstUse(key, expiresAt, now)");
  }
  // The check runs on the synchronous path of every request: a cache that answers a promise
  // (a network cache) would be taken for "first use" every time. Asked about an entry that
  // has already expired, a cache answers true at once without keeping it.
  if (dpop.replay !== undefined) {
    const now = Date.now();
    const probe: unknown = dpop.replay.firstUse(`sessionkit-probe:${now}`, now - 1, now);
    if (probe !== true) {
      throw configError("dpop.replay must answer synchronously (true for an expired entry)");
    }
  }
  const clock = options.clock ?? Date.now;
  const nonces = dpop.nonce
    ? createNonces({
        key: sharedKey(keys, "dpop-nonce"),
        lifetimeMs: maxAgeMs,
        clock,
        purpose: "dpop",
      })
    : null;
  return {
    algorithms,
    required: dpop.required === true,
    maxAgeMs,
    // One key's proofs can take at most 1% of the default cache per proof lifetime (about
    // 16 requests a second at the default maxAge): a flood locks out only its own key.
    replay:
      dpop.replay ?? perKeyReplayCache(memoryReplayCache(), { perKey: 1000, windowMs: maxAgeMs }),
    nonces,
    origin,
  };
}
