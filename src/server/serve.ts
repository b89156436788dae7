import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { dirname } from "node:path";
import { serve } from "@hono/node-server";
import {
  createSessionManager,
  generateKeySet,
  type JwkSet,
  loadKeySet,
  type SessionStore,
} from "../index.js";
import { createApp } from "./app.js";
import { ConfigError, type ServerConfig } from "./config.js";
import { openStore } from "./stores.js";
import { sqliteUsers } from "./users.js";

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
      throw new ConfigError(
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
  const keys = loadOrCreateKeys(config.keysPath, log);
  if (config.database !== ":memory:" && !existsSync(config.database)) {
    log(`created ${config.database} (SQLite: users and sessions)`);
  }
  if (config.database !== ":memory:") mkdirSync(dirname(config.database), { recursive: true });
  const users = sqliteUsers(config.database);
  const store: SessionStore = await openStore(config.store, config.database);
  let app: ReturnType<typeof createApp> | null = null;
  const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
    const s = serve(
      {
        fetch: (request, env) =>
          app ? app.fetch(request, env) : new Response(null, { status: 503 }),
        port: config.port,
        hostname: config.host,
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
  const url = `http://${shownHost}:${port}`;
  const origins = config.origins.length > 0 ? config.origins : defaultOrigins(config.host, port);
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
  const managers = {
    id: createSessionManager({ ...common, strategy: "id" }),
    jwt: createSessionManager({ ...common, strategy: "jwt", audience: `${common.issuer}/api/jwt` }),
    hybrid: createSessionManager({
      ...common,
      strategy: "hybrid",
      audience: `${common.issuer}/api/hybrid`,
    }),
  };
  app = createApp({ managers, store, users, keys, scryptLog2N: config.scryptLog2N, log });
  log(`sessionkit listening on ${url} (store: ${describeStore(config)})`);
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

/** The server's own URL is the allowed origin by default, under each name of the loopback. */
function defaultOrigins(host: string, port: number): string[] {
  const local = ["localhost", "127.0.0.1", "::1", "0.0.0.0", "::"].includes(host);
  const hosts = local
    ? ["localhost", "127.0.0.1", "[::1]"]
    : [host.includes(":") ? `[${host}]` : host];
  return hosts.map((h) => `http://${h}:${port}`);
}

/** The store as the start-up line shows it, without a password from a URL. */
function describeStore(config: ServerConfig): string {
  if (config.store === "sqlite") return `sqlite ${config.database}`;
  if (config.store === "memory") return "memory";
  try {
    const url = new URL(config.store);
    url.password = "";
    return url.toString();
  } catch {
    return "postgres";
  }
}
