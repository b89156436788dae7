import { type ParseArgsConfig, parseArgs } from "node:util";

type Options = NonNullable<ParseArgsConfig["options"]>;
type Parsed<O extends Options> = ReturnType<
  typeof parseArgs<{ args: string[]; options: O; strict: true; allowPositionals: true }>
>;

/**
 * `<subcommand> [--options] [positionals]`, strictly: an unknown option is a usage error
 * (node's ERR_PARSE_ARGS_*, which the runner answers with exit 2).
 */
export function parseSubcommand<const O extends Options>(
  args: string[],
  options: O,
): { sub: string | undefined; values: Parsed<O>["values"]; positionals: string[] } {
  const [sub, ...rest] = args;
  const { values, positionals } = parseArgs({
    args: rest,
    options,
    strict: true,
    allowPositionals: true,
  });
  return { sub, values, positionals };
}
