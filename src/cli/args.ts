import { type ParseArgsConfig, parseArgs } from "node:util";

type Options = NonNullable<ParseArgsConfig["options"]>;

/**
 * `<subcommand> [--options] [positionals]`, strictly: an unknown option is a usage error
 * (node's ERR_PARSE_ARGS_*, which the runner answers with exit 2).
 */
export function parseSubcommand<const O extends Options>(args: string[], options: O) {
  const [sub, ...rest] = args;
  const { values, positionals } = parseArgs({
    args: rest,
    options,
    strict: true,
    allowPositionals: true,
  });
  return { sub, values, positionals };
}
