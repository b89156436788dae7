import { normalizeOrigin } from "../csrf/origin.js";
import { configError } from "../errors.js";
import { tryParseDuration } from "../index.js";
import { proxyEntry } from "./http.js";
import { OWASP_LOG2N } from "./passwords.js";

export interface ServerConfig {
  port: number;
  host: string;
  /**
   * Where the demo's users live: a SQLite path, or a `postgres://` URL so that several
   * instances share them. Sessions go there too unless `store` says otherwise.
   */
  database: string;
  /** `"sqlite"` (the database file), `"memory"`, or a PostgreSQL, Redis or Cluster URL. */
  store: string;
  keysPath: string;
  origins: string[];
  lifetimes: { idle: number; absolute: number; renewal: number; access: number; grace: number };
  maxLag: number;
  /**
   * The `id` strategy's local read cache: at most this long between store reads of a session
   * (`--id-cache`, default 1s; `0` or `off` turns it off). Revocations made elsewhere reach it
   * through the change feed; this bounds what a lost feed message could cost.
   */
  idCache: number;
  scryptLog2N: number;
  /** Proxies whose X-Forwarded-For is believed: 0 (none), a count of hops, or addresses. */
  trustProxy: number | string[];
  /** The storage lab's token copy (`--lab`, `SESSIONKIT_LAB`): off unless asked for. */
  lab: boolean;
  /** HTTPS with these PEM files (`--tls-cert`, `--tls-key`), or plain HTTP when null. */
  tls: { certPath: string; keyPath: string } | null;
}

export const isPostgresUrl = (value: string) => /^postgres(ql)?:\/\//.test(value);

export const SERVER_FLAGS = {
  port: "PORT",
  host: "HOST",
  database: "SESSIONKIT_DATABASE",
  store: "SESSIONKIT_STORE",
  keys: "SESSIONKIT_KEYS",
  origin: "SESSIONKIT_ORIGIN",
  idle: "SESSIONKIT_IDLE",
  absolute: "SESSIONKIT_ABSOLUTE",
  renewal: "SESSIONKIT_RENEWAL",
  access: "SESSIONKIT_ACCESS",
  "refresh-grace": "SESSIONKIT_REFRESH_GRACE",
  "max-lag": "SESSIONKIT_MAX_LAG",
  "id-cache": "SESSIONKIT_ID_CACHE",
  "trust-proxy": "SESSIONKIT_TRUST_PROXY",
  "tls-cert": "SESSIONKIT_TLS_CERT",
  "tls-key": "SESSIONKIT_TLS_KEY",
} as const;

export type ServerFlag = keyof typeof SERVER_FLAGS;

/** Flags without a value (`--lab`), with their environment variable. */
export const SERVER_SWITCHES = { lab: "SESSIONKIT_LAB" } as const;

export type ServerSwitch = keyof typeof SERVER_SWITCHES;

const SWITCH_ON = new Set(["1", "true", "yes", "on"]);
const SWITCH_OFF = new Set(["", "0", "false", "no", "off"]);

/** A flag beats its environment variable; an invalid value throws a one-line CONFIG_INVALID `SessionError`. */
export function resolveServerConfig(
  flags: Partial<Record<ServerFlag, string> & Record<ServerSwitch, boolean>>,
  env: Record<string, string | undefined>,
): ServerConfig {
  const get = (flag: ServerFlag) => flags[flag] ?? env[SERVER_FLAGS[flag]];
  const on = (flag: ServerSwitch) => {
    if (flags[flag] !== undefined) return flags[flag] === true;
    const raw = (env[SERVER_SWITCHES[flag]] ?? "").trim().toLowerCase();
    if (SWITCH_ON.has(raw)) return true;
    if (SWITCH_OFF.has(raw)) return false;
    throw configError(`${SERVER_SWITCHES[flag]}: "${raw}" is not 1 or 0`);
  };
  const duration = (flag: ServerFlag, fallback: string) => {
    const raw = get(flag) ?? fallback;
    const ms = tryParseDuration(raw);
    if (ms === null) throw configError(`--${flag}: "${raw}" is not a duration such as 30m or 10s`);
    return ms;
  };
  const rawPort = get("port") ?? "3000";
  const port = Number(rawPort);
  if (!/^\d+$/.test(rawPort) || port > 65535)
    throw configError(`--port: "${rawPort}" is not a port number`);
  const host = get("host") ?? "localhost";
  const database = get("database") ?? "data/sessionkit.db";
  const databaseIsPostgres = isPostgresUrl(database);
  const store = get("store") ?? (databaseIsPostgres ? database : "sqlite");
  if (store === "sqlite" && databaseIsPostgres) {
    throw configError("--store sqlite keeps sessions in the --database file: name a file there");
  }
  if (
    !(
      store === "sqlite" ||
      store === "memory" ||
      /^(postgres(ql)?|rediss?|redis-cluster):\/\//.test(store)
    )
  ) {
    throw configError(
      `--store: "${store}" is not one of sqlite, memory, postgres://…, redis://…, redis-cluster://…`,
    );
  }
  const lifetimes = {
    idle: duration("idle", "30m"),
    absolute: duration("absolute", "12h"),
    renewal: duration("renewal", "1h"),
    access: duration("access", "5m"),
    grace: duration("refresh-grace", "10s"),
  };
  if (lifetimes.idle > lifetimes.absolute) throw configError("--idle must not exceed --absolute");
  // The hybrid manager refuses it too; said here, it stops the server before it listens.
  if (lifetimes.access > lifetimes.idle) throw configError("--access must not exceed --idle");
  if (lifetimes.grace > 120_000) throw configError("--refresh-grace must be at most 2m");
  const origins = (get("origin") ?? "")
    .split(",")
    .map((o) => o.trim())
    .filter((o) => o !== "");
  for (const origin of origins) {
    if (!normalizeOrigin(origin))
      throw configError(`--origin: "${origin}" is not an origin like https://app.example`);
  }
  const maxLag = duration("max-lag", "5s");
  // Unset: 1 s, or --max-lag when that is shorter (a cached entry must not outlive the lag a
  // revocation is allowed).
  const givenCache = get("id-cache")?.trim();
  let idCache = Math.min(1000, maxLag);
  if (givenCache !== undefined) {
    if (givenCache.toLowerCase() === "off" || givenCache === "0") idCache = 0;
    else {
      const ms = tryParseDuration(givenCache);
      if (ms === null) {
        throw configError(
          `--id-cache (${SERVER_FLAGS["id-cache"]}): "${givenCache}" is not a duration such as 1s or 500ms, nor off`,
        );
      }
      idCache = ms;
    }
  }
  if (idCache > Math.min(maxLag, 60_000)) {
    throw configError(
      `--id-cache (${SERVER_FLAGS["id-cache"]}): ${idCache} ms is more than --max-lag (${maxLag} ms) or 1m; lower it, or "off"`,
    );
  }
  const log2N = Number(env.SESSIONKIT_SCRYPT_LOG2N ?? OWASP_LOG2N);
  if (!Number.isInteger(log2N) || log2N < 10 || log2N > 20) {
    throw configError("SESSIONKIT_SCRYPT_LOG2N must be an integer from 10 to 20");
  }
  return {
    port,
    host,
    database,
    store,
    keysPath: get("keys") ?? "data/keys.json",
    // Empty means "the server's own URL", which is known once it listens.
    origins: origins.map((o) => normalizeOrigin(o) ?? o),
    lifetimes,
    maxLag,
    idCache,
    scryptLog2N: log2N,
    trustProxy: trustProxy(get("trust-proxy")),
    lab: on("lab"),
    tls: tlsFiles(get("tls-cert"), get("tls-key")),
  };
}

/** Both files or neither: half a pair would serve nothing over HTTPS. */
function tlsFiles(cert: string | undefined, key: string | undefined) {
  // An empty variable, as a template leaves it, is unset.
  const certPath = cert?.trim() || undefined;
  const keyPath = key?.trim() || undefined;
  if (certPath === undefined && keyPath === undefined) return null;
  const missing = certPath === undefined ? "tls-cert" : "tls-key";
  const given = certPath === undefined ? "tls-key" : "tls-cert";
  if (certPath === undefined || keyPath === undefined) {
    throw configError(
      `--${given} (${SERVER_FLAGS[given]}) needs --${missing} (${SERVER_FLAGS[missing]}) too: both for https, neither for http`,
    );
  }
  return { certPath, keyPath };
}

/** Off, a number of proxies in front of the server, or their addresses (comma-separated). */
function trustProxy(raw: string | undefined): number | string[] {
  const value = raw?.trim() ?? "";
  if (value === "" || value === "off" || value === "false") return 0;
  if (/^\d{1,2}$/.test(value)) return Number(value);
  // "true" would believe the leftmost entry, which the client writes itself.
  const entries = value.split(",").map((entry) => entry.trim());
  const bad = entries.find((entry) => proxyEntry(entry) === null);
  if (bad !== undefined) {
    throw configError(
      `--trust-proxy: "${bad}" is not a number of proxies or a proxy address (IP or CIDR)`,
    );
  }
  return entries;
}
