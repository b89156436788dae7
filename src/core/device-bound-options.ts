import { checkEndpoint, DBSC_ALGORITHMS } from "../dbsc/headers.js";
import { configError } from "../errors.js";
import type { JsonObject } from "../stores/types.js";
import type { JwkSet } from "../tokens/keys.js";
import type { DeviceBoundSettings } from "./device-bound.js";
import { parseDuration } from "./duration.js";
import { sharedKey } from "./shared-key.js";
import type { DeviceBoundOptions, SessionManagerOptions, Transport } from "./types.js";

/**
 * The `deviceBound` option (DBSC), checked once: a bad one throws `CONFIG_INVALID` at
 * construction.
 */
export function normalizeDeviceBound<Data extends JsonObject>(
  options: DeviceBoundOptions,
  all: SessionManagerOptions<Data>,
  keys: JwkSet | null,
  transports: ReadonlySet<Transport>,
  lifetimes: { grace: number; absolute: number },
): DeviceBoundSettings {
  if (typeof options !== "object" || options === null) {
    throw configError("deviceBound must be an object");
  }
  // id binds its session cookie, hybrid its refresh cookie; jwt's one token is a signed
  // cookie that no store read could cut short, so there is nothing for a proof to renew.
  if (all.strategy === "jwt") {
    throw configError(
      `deviceBound binds the id session cookie or the hybrid refresh cookie, not jwt`,
    );
  }
  if (!transports.has("cookie")) {
    throw configError(`deviceBound binds the session cookie: transports must include "cookie"`);
  }
  if (typeof all.store.bind !== "function") {
    throw configError(`deviceBound: store "${all.store.name}" cannot keep a binding (no bind())`);
  }
  checkEndpoint("registrationPath", options.registrationPath);
  checkEndpoint("refreshPath", options.refreshPath);
  if (options.registrationPath === options.refreshPath) {
    throw configError("deviceBound: registrationPath and refreshPath must differ");
  }
  const refreshInterval = parseDuration(
    options.refreshInterval ?? "10m",
    "deviceBound.refreshInterval",
  );
  if (refreshInterval < 30_000 || refreshInterval > lifetimes.absolute) {
    throw configError("deviceBound.refreshInterval must be between 30s and lifetimes.absolute");
  }
  const algorithms = options.algorithms ?? [...DBSC_ALGORITHMS];
  if (
    !Array.isArray(algorithms) ||
    algorithms.length === 0 ||
    algorithms.some((a) => !DBSC_ALGORITHMS.includes(a))
  ) {
    throw configError(`deviceBound.algorithms must list some of ${DBSC_ALGORITHMS.join(", ")}`);
  }
  return {
    registrationPath: options.registrationPath,
    refreshPath: options.refreshPath,
    refreshInterval,
    algorithms,
    challengeKey: sharedKey(keys, "dbsc-challenge"),
  };
}
