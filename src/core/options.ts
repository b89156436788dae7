import { type CookiePolicy, createCookiePolicy } from "../cookies/policy.js";
import { normalizeOrigin } from "../csrf/origin.js";
import { configError } from "../errors.js";
import type { JsonObject, SessionStore, StrategyName } from "../stores/types.js";
import { type ImportedKey, readKeySet } from "../tokens/keys.js";
import type { DeviceBoundSettings } from "./device-bound.js";
import { normalizeDeviceBound } from "./device-bound-options.js";
import type { DpopSettings } from "./dpop.js";
import { normalizeDpop } from "./dpop-options.js";
import { parseDuration } from "./duration.js";
import { sharedKey } from "./shared-key.js";
import type { SessionEvents, SessionManagerOptions, StandardSchema, Transport } from "./types.js";

/** What the `jwt` and `hybrid` strategies sign with, checked once here. */
export interface JwtSettings {
  /** `jwt`'s one token, or `hybrid`'s access token. */
  mode: "jwt" | "hybrid";
  /** The key set, imported once; every key can sign. */
  keys: ImportedKey[];
  issuer: string;
  audience: string;
}

/** Options after validation: every field present, durations in ms, names resolved. */
export interface NormalizedOptions<Data extends JsonObject> {
  strategy: StrategyName;
  store: SessionStore;
  csrfKey: Buffer;
  lifetimes: { idle: number; absolute: number; renewal: number; access: number; grace: number };
  touchEvery: number;
  cookies: CookiePolicy;
  transports: ReadonlySet<Transport>;
  origins: ReadonlySet<string>;
  maxSessionsPerUser: number;
  onStoreError: "fail-closed" | "anonymous";
  clock: () => number;
  events: SessionEvents<Data>;
  schema: StandardSchema<Data> | null;
  cleanup: { interval: number; batch: number } | null;
  cache: { max: number; maxAge: number } | null;
  /** `null` for the `id` strategy, which signs nothing. */
  jwt: JwtSettings | null;
  maxLag: number;
  dpop: DpopSettings | null;
  deviceBound: DeviceBoundSettings | null;
}

const STRATEGIES: StrategyName[] = ["id", "jwt", "hybrid"];

export function normalizeOptions<Data extends JsonObject>(
  options: SessionManagerOptions<Data>,
): NormalizedOptions<Data> {
  if (typeof options !== "object" || options === null) throw configError("options are required");
  if (!STRATEGIES.includes(options.strategy)) {
    throw configError(`strategy must be one of ${STRATEGIES.join(", ")}`);
  }
  const store = options.store;
  if (typeof store?.get !== "function" || typeof store.create !== "function") {
    throw configError("store must implement the SessionStore contract");
  }
  const l = options.lifetimes ?? {};
  const lifetimes = {
    idle: parseDuration(l.idle ?? "30m", "lifetimes.idle"),
    absolute: parseDuration(l.absolute ?? "12h", "lifetimes.absolute"),
    renewal: parseDuration(l.renewal ?? "1h", "lifetimes.renewal"),
    access: parseDuration(l.access ?? "5m", "lifetimes.access"),
    grace: parseDuration(l.grace ?? "10s", "lifetimes.grace"),
  };
  if (lifetimes.idle > lifetimes.absolute) {
    throw configError("lifetimes.idle must not exceed lifetimes.absolute");
  }
  if (lifetimes.grace > 120_000) throw configError("lifetimes.grace must be at most 2 minutes");
  // A revocation is remembered until the record's idle expiry: an access token that outlived
  // it would verify again once its revocation is forgotten.
  if (options.strategy === "hybrid" && lifetimes.access > lifetimes.idle) {
    throw configError("lifetimes.access must not exceed lifetimes.idle");
  }

  const keySet =
    options.keys === undefined ? null : readKeySet(options.keys, { requirePrivate: true });
  const keys = keySet?.set ?? null;
  const csrfKey = sharedKey(keys, "csrf");

  const transports = new Set<Transport>(options.transports ?? ["cookie", "header"]);
  if (transports.size === 0 || [...transports].some((t) => t !== "cookie" && t !== "header")) {
    throw configError(`transports must list "cookie" and/or "header"`);
  }
  const origins = new Set<string>();
  for (const origin of options.csrf?.origins ?? []) {
    const normalized = normalizeOrigin(origin);
    if (!normalized) throw configError(`csrf.origins: ${JSON.stringify(origin)} is not an origin`);
    origins.add(normalized);
  }
  const max = options.maxSessionsPerUser ?? 20;
  if (!Number.isInteger(max) || max < 1) {
    throw configError("maxSessionsPerUser must be a positive integer");
  }
  const onStoreError = options.onStoreError ?? "fail-closed";
  if (onStoreError !== "fail-closed" && onStoreError !== "anonymous") {
    throw configError(`onStoreError must be "fail-closed" or "anonymous"`);
  }
  if (options.clock !== undefined && typeof options.clock !== "function") {
    throw configError("clock must be a function returning milliseconds");
  }
  const cleanup =
    options.cleanup === false
      ? null
      : {
          interval: parseDuration(options.cleanup?.interval ?? "1m", "cleanup.interval"),
          batch: options.cleanup?.batch ?? 500,
        };
  if (cleanup && (!Number.isInteger(cleanup.batch) || cleanup.batch < 1)) {
    throw configError("cleanup.batch must be a positive integer");
  }
  let cache: NormalizedOptions<Data>["cache"] = null;
  if (options.cache) {
    cache = {
      maxAge: parseDuration(options.cache.maxAge, "cache.maxAge"),
      max: options.cache.max ?? 10_000,
    };
    if (cache.maxAge > 60_000) throw configError("cache.maxAge must be at most 1 minute");
    if (!Number.isInteger(cache.max) || cache.max < 1) {
      throw configError("cache.max must be a positive integer");
    }
  }
  let jwt: JwtSettings | null = null;
  if (options.strategy !== "id") {
    if (!keySet)
      throw configError(`strategy "${options.strategy}" needs keys (a JWK set) to sign tokens`);
    if (typeof options.issuer !== "string" || options.issuer === "") {
      throw configError(`strategy "${options.strategy}" needs an issuer`);
    }
    if (typeof options.audience !== "string" || options.audience === "") {
      throw configError(`strategy "${options.strategy}" needs an audience`);
    }
    jwt = {
      mode: options.strategy,
      keys: keySet.keys,
      issuer: options.issuer,
      audience: options.audience,
    };
  }
  const dpop = options.dpop === undefined ? null : normalizeDpop(options.dpop, options, keys);
  if (dpop && !transports.has("header")) {
    throw configError(`dpop binds header-transport tokens: transports must include "header"`);
  }
  const deviceBound =
    options.deviceBound === undefined
      ? null
      : normalizeDeviceBound(options.deviceBound, options, keys, transports, lifetimes);
  return {
    dpop,
    deviceBound,
    strategy: options.strategy,
    jwt,
    maxLag: parseDuration(options.revocation?.maxLag ?? "5s", "revocation.maxLag"),
    store,
    csrfKey,
    lifetimes,
    touchEvery: Math.floor(lifetimes.idle / 10),
    cookies: createCookiePolicy(options.cookie),
    transports,
    origins,
    maxSessionsPerUser: max,
    onStoreError,
    clock: options.clock ?? Date.now,
    events: options.events ?? {},
    schema: options.schema ?? null,
    cleanup,
    cache,
  };
}
