#!/usr/bin/env node
import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { configError, isSessionError } from "../errors.js";
import {
  resolveServerConfig,
  SERVER_FLAGS,
  SERVER_SWITCHES,
  type ServerFlag,
  type ServerSwitch,
} from "../server/config.js";
import { JWS_ALGORITHMS } from "../tokens/algorithms.js";
import { isMissingPackage } from "../util/optional-peer.js";
import { type Io, UsageError } from "./io.js";
import { jwtCommand, keysCommand } from "./keys.js";
import { migrateCommand, sessionsCommand } from "./sessions.js";

export const USAGE = `usage: sessionkit <command> [options]

commands:
  serve [--port N] [--host H] [--database PATH|postgres://…] [--keys FILE]
        [--store sqlite|memory|postgres://…|redis://…|redis-cluster://H:P,…] [--origin URL[,URL]] [--idle D] [--absolute D] [--renewal D] [--access D]
        [--refresh-grace D] [--max-lag D] [--id-cache D|off] [--trust-proxy N|IP[,IP]] [--lab]
        [--tls-cert FILE --tls-key FILE]         start the reference server (https with both PEM files);
                                                 DPoP binds header tokens that prove a key (the first
                                                 --origin is the one clients sign), DBSC the /api/id cookie
                                                 and the /api/hybrid refresh cookie
  migrate [--database PATH|postgres://…]         create or upgrade the schema
  sessions list --user ID [--database PATH|URL] [--store URL] [--json]
  sessions revoke ID | --user ID [--database PATH|URL] [--store URL]
  keys generate [--alg ${JWS_ALGORITHMS.join("|")}] [--kid ID]
  keys rotate --keys FILE [--alg A] [--kid ID]    new current key; previous ones keep verifying
  keys jwks --keys FILE                           the public keys (asymmetric only)
  jwt decode TOKEN                                header and claims, NOT verified
  jwt verify TOKEN --jwks FILE|URL [--iss I] [--aud A]

Durations look like 30m, 10s, 12h. Values may follow -- (a session id can begin with -).
Exit codes: 0 ok, 1 failed, 2 usage error.`;

/** Runs one command; resolves to the exit code. `serve` resolves only when the server stops. */
export async function run(argv: string[], io: Io): Promise<number> {
  try {
    const [command, ...rest] = argv;
    switch (command) {
      case "serve":
        return await serveCommand(rest, io);
      case "migrate":
        return await migrateCommand(rest, io);
      case "sessions":
        return await sessionsCommand(rest, io);
      case "keys":
        return await keysCommand(rest, io);
      case "jwt":
        return await jwtCommand(rest, io);
      case "help":
      case "--help":
      case "-h":
        io.out(USAGE);
        return 0;
      case undefined:
        throw new UsageError("missing command (try: sessionkit help)");
      default:
        throw new UsageError(`unknown command "${command}" (try: sessionkit help)`);
    }
  } catch (error) {
    if (
      error instanceof UsageError ||
      isSessionError(error, "CONFIG_INVALID") ||
      isParseArgsError(error)
    ) {
      io.err(`sessionkit: ${(error as Error).message.split("\n")[0]}`);
      return 2;
    }
    io.err(`sessionkit: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
}

function isParseArgsError(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code;
  return typeof code === "string" && code.startsWith("ERR_PARSE_ARGS");
}

async function serveCommand(args: string[], io: Io): Promise<number> {
  const options = Object.fromEntries([
    ...Object.keys(SERVER_FLAGS).map((flag) => [flag, { type: "string" as const }]),
    ...Object.keys(SERVER_SWITCHES).map((flag) => [flag, { type: "boolean" as const }]),
    ["help", { type: "boolean" as const, short: "h" }],
  ]);
  const { values, positionals } = parseArgs({
    args,
    options,
    allowPositionals: true,
    strict: true,
  });
  const { help, ...flags } = values as Record<string, string | boolean | undefined>;
  if (help) {
    io.out(USAGE);
    return 0;
  }
  if (positionals.length > 0)
    throw new UsageError(`serve takes no positional argument: ${positionals[0]}`);
  const config = resolveServerConfig(
    flags as Partial<Record<ServerFlag, string> & Record<ServerSwitch, boolean>>,
    io.env,
  );
  const { startServer } = await loadServer();
  const server = await startServer(config, io.out);
  return await new Promise<number>((resolve) => {
    const stop = () => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      server.close().then(
        () => resolve(0),
        () => resolve(1),
      );
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
}

/**
 * The reference server, loaded for `serve` only: it runs on Hono, optional peers of this
 * package, which the other commands (keys, jwt, sessions, migrate) do not need.
 */
async function loadServer(): Promise<typeof import("../server/serve.js")> {
  try {
    return await import("../server/serve.js");
  } catch (error) {
    if (isMissingPackage(error, "hono") || isMissingPackage(error, "@hono/node-server")) {
      throw configError(
        "serve needs the hono and @hono/node-server packages: npm install hono @hono/node-server",
      );
    }
    throw error;
  }
}

const isMain = (() => {
  try {
    return realpathSync(process.argv[1] ?? "") === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
})();

if (isMain) {
  const io: Io = {
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
    env: process.env,
  };
  run(process.argv.slice(2), io).then((code) => {
    process.exitCode = code;
  });
}
