#!/usr/bin/env node
import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { configError, isSessionError } from "../errors.js";
import {
  resolveServerConfig,
  SERVER_FLAGS,
  SERVER_SWITCHES,
  type ServerFlag,
  type ServerSwitch,
} from "../server/config.js";
import { isMissingPackage } from "../util/optional-peer.js";
import { asksForHelp, type OptionSpec, parseOptions } from "./args.js";
import { type Io, UsageError } from "./io.js";
import { jwtCommand } from "./jwt.js";
import { keysCommand } from "./keys.js";
import { migrateCommand, sessionsCommand } from "./sessions.js";
import { COMMANDS, commandHelp, overview } from "./usage.js";

/** The overview that `sessionkit help` prints. */
export const USAGE = overview();

/** Runs one command; resolves to the exit code. `serve` resolves only when the server stops. */
export async function run(argv: string[], io: Io): Promise<number> {
  try {
    const [command, ...rest] = argv;
    if (command !== undefined && Object.hasOwn(COMMANDS, command) && asksForHelp(rest)) {
      const sub = rest[0]?.startsWith("-") ? undefined : rest[0];
      io.out(commandHelp(command, sub));
      return 0;
    }
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
      case "-h": {
        const [topic, sub, ...more] = rest;
        if (more.length > 0) throw new UsageError("help takes a COMMAND and a SUBCOMMAND at most");
        io.out(topic === undefined ? USAGE : commandHelp(topic, sub));
        return 0;
      }
      case undefined:
        throw new UsageError("missing command (try: sessionkit help)");
      default:
        throw new UsageError(`unknown command "${command}" (try: sessionkit help)`);
    }
  } catch (error) {
    if (error instanceof UsageError || isSessionError(error, "CONFIG_INVALID")) {
      io.err(`sessionkit: ${(error as Error).message.split("\n")[0]}`);
      return 2;
    }
    io.err(`sessionkit: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
}

async function serveCommand(args: string[], io: Io): Promise<number> {
  const options: OptionSpec = Object.fromEntries([
    ...Object.keys(SERVER_FLAGS).map((flag) => [flag, "string" as const]),
    ...Object.keys(SERVER_SWITCHES).map((flag) => [flag, "boolean" as const]),
  ]);
  const { values: flags, positionals } = parseOptions(args, options, "serve");
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
