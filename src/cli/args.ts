import { parseArgs } from "node:util";
import { UsageError } from "./io.js";

/** A command's options: each takes a value (`"string"`) or is a switch (`"boolean"`). */
export type OptionSpec = Record<string, "string" | "boolean">;

export type OptionValues<O extends OptionSpec> = {
  [K in keyof O]?: O[K] extends "string" ? string : boolean;
};

type OptionNames<S extends Record<string, OptionSpec>> = {
  [K in keyof S]: keyof S[K];
}[keyof S] &
  string;

type OptionType<S extends Record<string, OptionSpec>, N extends string> = {
  [K in keyof S]: N extends keyof S[K] ? S[K][N] : never;
}[keyof S];

/** The values of any subcommand's options: the caller reads those of the one it runs. */
export type SubcommandValues<S extends Record<string, OptionSpec>> = {
  [N in OptionNames<S>]?: [OptionType<S, N>] extends ["string"] ? string : boolean;
};

/**
 * `[--options] [positionals]` for `command` (as the user typed it, e.g. "keys generate").
 * node's parser runs lenient and this function judges its tokens, so that every mistake is
 * one line in the CLI's own words (node's strict messages name its API, not this command).
 */
export function parseOptions<const O extends OptionSpec>(
  args: string[],
  options: O,
  command: string,
): { values: OptionValues<O>; positionals: string[] } {
  const { tokens } = parseArgs({
    args,
    options: Object.fromEntries(Object.entries(options).map(([name, type]) => [name, { type }])),
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const values: Record<string, string | boolean> = {};
  const positionals: string[] = [];
  const fail = (why: string) =>
    new UsageError(`${command}: ${why} (see: sessionkit ${command} --help)`);
  for (const token of tokens) {
    if (token.kind === "positional") positionals.push(token.value);
    if (token.kind !== "option") continue;
    const type = Object.hasOwn(options, token.name) ? options[token.name] : undefined;
    if (type === undefined) throw fail(`unknown option ${token.rawName}`);
    if (type === "boolean") {
      if (token.value !== undefined) throw fail(`${token.rawName} takes no value`);
      values[token.name] = true;
      continue;
    }
    // Lenient parsing hands `--alg --kid x` the value "--kid": almost surely a forgotten value.
    const value = token.value;
    if (value === undefined || (!token.inlineValue && value.startsWith("-") && value !== "-")) {
      throw fail(
        value === undefined
          ? `${token.rawName} needs a value`
          : `${token.rawName} needs a value; for one that begins with -, write ${token.rawName}=${value}`,
      );
    }
    values[token.name] = value;
  }
  return { values: values as OptionValues<O>, positionals };
}

/**
 * `<subcommand> [--options] [positionals]`: the subcommand comes first and names the options
 * that follow (each subcommand has its own, so that `keys generate --keys F` is an error).
 */
export function parseSubcommand<const S extends Record<string, OptionSpec>>(
  command: string,
  args: string[],
  subcommands: S,
): { sub: keyof S & string; values: SubcommandValues<S>; positionals: string[] } {
  const [sub, ...rest] = args;
  const names = Object.keys(subcommands);
  const list = `${names.slice(0, -1).join(", ")} or ${names.at(-1)}`;
  const see = `(see: sessionkit ${command} --help)`;
  if (sub === undefined || sub.startsWith("-"))
    throw new UsageError(`${command} needs ${list} ${see}`);
  const options = Object.hasOwn(subcommands, sub) ? subcommands[sub] : undefined;
  if (options === undefined) throw new UsageError(`unknown ${command} subcommand "${sub}" ${see}`);
  const { values, positionals } = parseOptions(rest, options, `${command} ${sub}`);
  return { sub, values: values as SubcommandValues<S>, positionals };
}

/** Whether the user asked for help: `--help` or `-h` anywhere before a `--`. */
export function asksForHelp(args: string[]): boolean {
  for (const arg of args) {
    if (arg === "--") return false;
    if (arg === "--help" || arg === "-h") return true;
  }
  return false;
}
