import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { dirname } from "node:path";
import { serve } from "@hono/node-server";
import { configError } from "../errors.js";
import { generateKeySet, type JwkSet, loadKeySet, type SessionStore } from "../index.js";
import { createApp } from "./app.js";
import { isPostgresUrl, type ServerConfig } from "./config.js";
import { referenceManagers } from "./managers.js";
import { loadDriver, openStore } from "./stores.js";
import { loadTls } from "./tls.js";
import { cachedUsers } from "./user-cache.js";
import type { UserStore } from "./users.js";
import { postgresUsers } from "./users-postgres.js";

export interface RunningServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Reads the key file, or creates one (mode 0600) on first start and says so. */
export function loadOrCreateKeys(path: string, log: (line: string) => void): JwkSet {
  if (existsSync(path)) {
    try {
      return loadKeySet(JSON.parse(readFileSync(path, "utf8")));
    } catch (error) {
      throw configError(
        `--keys: ${path}: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }
  const keys = generateKeySet();
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  writeFileSync(path, `${JSON.stringify(keys, null, 2)}\n`, { mode: 0o600, flag: "wx" });
  log(
    `warning: generated new signing keys in ${path} (mode 0600); keep this file secret and back it up`,
  );
  return keys;
}

export async function startServer(
  config: ServerConfig,
  log: (line: string) => void,
): Promise<RunningServer> {
  // First: a wrong certificate stops the start before anything is created on disk.
  const tls = config.tls ? loadTls(config.tls, config.host) : null;
  for (const line of tls?.warnings ?? []) log(line);
  const keys = loadOrCreateKeys(config.keysPath, log);
  const users = cachedUsers(await openUsers(config, log));
  const store: SessionStore = await openStore(config.store, config.database);
  // The port opens once the store's feed has replayed the revocations made before this start:
  // until then the jwt/hybrid verifiers could only refuse (503), so no request is taken. The
  // managers created below subscribe while this one holds the feed, and get the replay from it.
  const holdFeed = store.subscribe(() => {});
  await feedCurrent(store, config.maxLag, log);
  let app: ReturnType<typeof createApp> | null = null;
  const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
    const s = serve(
      {
        fetch: (request, env) =>
          app ? app.fetch(request, env) : new Response(null, { status: 503 }),
        port: config.port,
        hostname: config.host,
        // No Strict-Transport-Security header: on localhost it would pin every port of the
        // host to https in the browser, `npm start`'s plain http included.
        ...(tls
          ? {
              createServer: createHttpsServer,
              serverOptions: { cert: tls.cert, key: tls.key, handshakeTimeout: 10_000 },
            }
          : {}),
      },
      () => resolve(s),
    );
    s.once("error", reject);
  });
  // Slow or stalled clients must not hold connections forever.
  const http = server as unknown as { headersTimeout: number; requestTimeout: number };
  http.headersTimeout = 10_000;
  http.requestTimeout = 30_000;
  const port = (server.address() as AddressInfo).port;
  const shownHost = config.host.includes(":") ? `[${config.host}]` : config.host;
  const scheme = tls ? "https" : "http";
  const url = `${scheme}://${shownHost}:${port}`;
  const origins =
    config.origins.length > 0 ? config.origins : defaultOrigins(scheme, config.host, port);
  const common = {
    store,
    keys,
    csrf: { origins },
    lifetimes: config.lifetimes,
    // One issuer for every instance behind the same public origin (or this server's URL when
    // it stands alone), one audience per strategy: a token of one never passes for another's.
    issuer: origins[0] ?? url,
    revocation: { maxLag: config.maxLag },
  };
  const managers = referenceManagers(common, {
    idCacheMs: config.idCache,
    ...(config.origins[0] ? { publicOrigin: config.origins[0] } : {}),
  });
  holdFeed();
  app = createApp({
    managers,
    store,
    users,
    keys,
    scryptLog2N: config.scryptLog2N,
    trustProxy: config.trustProxy,
    accessLifetimeMs: config.lifetimes.access,
    inspect: {
      issuer: common.issuer,
      audiences: [`${common.issuer}/api/jwt`, `${common.issuer}/api/hybrid`],
    },
    lab: config.lab,
    maxLag: config.maxLag,
    log,
  });
  const where = config.store === "sqlite" ? `sqlite ${config.database}` : describe(config.store);
  const idCache = config.idCache > 0 ? `id cache: ${config.idCache} ms` : "id cache: off";
  log(
    `sessionkit listening on ${url} (store: ${where}; users: ${describe(config.database)}; ${idCache})`,
  );
  for (const line of demoPages(url, config.lab)) log(line);
  return {
    url,
    port,
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      for (const manager of Object.values(managers)) manager.close();
      await store.close();
      users.close();
    },
  };
}

/** What a newcomer opens after `npm start`, and how to stop it. */
function demoPages(url: string, lab: boolean): string[] {
  const page = (name: string, path: string, note = "") =>
    `  ${name.padEnd(28)}${url}${path}${note}`;
  return [
    "demo pages:",
    page("sign in and devices", "/"),
    page("strategies side by side", "/strategies"),
    page(
      "storage lab",
      "/lab",
      lab ? "" : "  (off: turn it on with --lab, as in npm start -- --lab)",
    ),
    page("token inspector", "/inspect"),
    "stop with Ctrl+C",
  ];
}

/** How long a starting server waits for its store's feed before it opens its port anyway. */
const FEED_WAIT_MS = 5000;

/**
 * Waits (bounded) until the store's change feed is current. Past the bound, the server starts
 * all the same: an unreachable store must not keep it down, and the verifiers fail closed
 * (503 revocation_stale) until the feed catches up.
 */
async function feedCurrent(store: SessionStore, maxLag: number, log: (line: string) => void) {
  const deadline = Date.now() + FEED_WAIT_MS;
  while ((store.feedLag?.() ?? 0) > maxLag) {
    if (Date.now() >= deadline) {
      log(
        `warning: the store's revocation feed is not current after ${FEED_WAIT_MS / 1000} s; jwt and hybrid requests answer 503 until it is`,
      );
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** The demo's users: a SQLite file (created on first start), or PostgreSQL. */
async function openUsers(config: ServerConfig, log: (line: string) => void): Promise<UserStore> {
  if (isPostgresUrl(config.database)) {
    const driver = await loadDriver(() => import("pg"), "PostgreSQL", "pg", "--database");
    return postgresUsers(
      driver.default,
      config.database,
      process.env.SESSIONKIT_TABLE_PREFIX ?? "sessionkit_",
    );
  }
  // Loaded only here: a server whose users are on PostgreSQL needs no better-sqlite3.
  const { sqliteUsers } = await loadDriver(
    () => import("./users-sqlite.js"),
    "SQLite",
    "better-sqlite3",
    "--database",
  );
  if (config.database !== ":memory:" && !existsSync(config.database)) {
    log(`created ${config.database} (SQLite: users and sessions)`);
  }
  if (config.database !== ":memory:") mkdirSync(dirname(config.database), { recursive: true });
  return sqliteUsers(config.database);
}

/** The server's own URL is the allowed origin by default, under each name of the loopback. */
function defaultOrigins(scheme: string, host: string, port: number): string[] {
  const local = ["localhost", "127.0.0.1", "::1", "0.0.0.0", "::"].includes(host);
  const hosts = local
    ? ["localhost", "127.0.0.1", "[::1]"]
    : [host.includes(":") ? `[${host}]` : host];
  return hosts.map((h) => `${scheme}://${h}:${port}`);
}

/** A store or database as the start-up line shows it: without a password from a URL. */
function describe(spec: string): string {
  if (!/^[a-z-]+:\/\//.test(spec)) return spec;
  try {
    const url = new URL(spec);
    url.password = "";
    return url.toString();
  } catch {
    return spec.slice(0, spec.indexOf(":"));
  }
}
