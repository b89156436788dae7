import { SERVER_FLAGS, SERVER_SWITCHES } from "../server/config.js";
import { JWS_ALGORITHMS } from "../tokens/algorithms.js";
import { UsageError } from "./io.js";

/** One form of a command: its synopsis, a line for the overview and what `--help` adds. */
interface Form {
  synopsis: string;
  summary: string;
  details?: string;
  /** Two columns printed under the details: each flag's environment variable. */
  table?: Array<[string, string]>;
}

const WIDTH = 80;

const serverEnv: Array<[string, string]> = [
  ...Object.entries(SERVER_FLAGS),
  ...Object.entries(SERVER_SWITCHES),
].map(([flag, name]) => [`--${flag}`, name]);

export const COMMANDS: Record<string, { forms: Record<string, Form>; notes?: string }> = {
  serve: {
    forms: {
      "": {
        synopsis:
          "serve [--port N] [--host H] [--database PATH|postgres://…] [--keys FILE] [--store sqlite|memory|postgres://…|redis://…|redis-cluster://H:P,…] [--origin URL[,URL]] [--idle D] [--absolute D] [--renewal D] [--access D] [--refresh-grace D] [--max-lag D] [--id-cache D|off] [--trust-proxy N|IP[,IP]] [--lab] [--tls-cert FILE --tls-key FILE]",
        summary:
          "Start the reference server and its demo pages on localhost:3000 (https with both PEM files).",
        details:
          "Users and sessions go to --database (default data/sessionkit.db, created on first start); --store puts the sessions elsewhere. DPoP binds header tokens that prove a key (the first --origin is the one clients sign), DBSC the /api/id cookie and the /api/hybrid refresh cookie. A flag beats its environment variable:",
        table: serverEnv,
      },
    },
  },
  migrate: {
    forms: {
      "": {
        synopsis: "migrate [--database PATH|postgres://…]",
        summary: "Create or upgrade the schema (default database: data/sessionkit.db).",
      },
    },
  },
  sessions: {
    forms: {
      list: {
        synopsis: "sessions list --user NAME|ID [--database PATH|URL] [--store URL] [--json]",
        summary: "A user's live sessions, by username or user id.",
        details:
          "NAME is a username of the reference server's users (kept in --database); any other value is taken as a user id. A value that is neither a user nor the id of live sessions is an error (exit 1), not an empty table.",
      },
      revoke: {
        synopsis: "sessions revoke ID | --user NAME|ID [--database PATH|URL] [--store URL]",
        summary: "Revoke one session, or every session of a user.",
        details: "A session id may begin with -: put it after --.",
      },
    },
    notes:
      "--database defaults to data/sessionkit.db (or SESSIONKIT_DATABASE) and --store to that database (or SESSIONKIT_STORE), as for serve: give the same values as the server.",
  },
  keys: {
    forms: {
      generate: {
        synopsis: `keys generate [--alg ${JWS_ALGORITHMS.join("|")}] [--kid ID]`,
        summary: "Print a new private key set (JSON) for --keys; HS256 by default.",
        details:
          "It is private: (umask 077; sessionkit keys generate --alg ES256 > keys.json). HS* keys are shared secrets: their tokens verify only with this file, the public JWKS being empty.",
      },
      rotate: {
        synopsis: "keys rotate --keys FILE [--alg A] [--kid ID]",
        summary: "Rewrite FILE: a new signing key first, the previous ones still verify.",
      },
      jwks: {
        synopsis: "keys jwks --keys FILE",
        summary: "Print the public keys (JWKS); HS* keys are secret and left out.",
      },
    },
  },
  jwt: {
    forms: {
      decode: {
        synopsis: "jwt decode TOKEN",
        summary: "Print the header and claims, NOT verified.",
      },
      verify: {
        synopsis: "jwt verify TOKEN (--jwks FILE|URL | --keys FILE) [--iss I] [--aud A]",
        summary: "Check the signature, exp and nbf: prints valid and the claims, or exits 1.",
        details:
          "Without --iss and --aud any issuer and any audience pass. HS256/HS384/HS512 tokens verify only with the key file (--keys FILE): their JWKS is empty.",
      },
    },
  },
};

const CONVENTIONS = "Durations look like 30m, 10s, 12h. Exit codes: 0 ok, 1 failed, 2 usage error.";
const MORE = "sessionkit help COMMAND (or COMMAND --help) tells more about one command.";

/**
 * Words; in a synopsis, bracketed groups such as `[--tls-cert FILE --tls-key FILE]` stay
 * whole (prose breaks anywhere).
 */
function groups(text: string, keepGroups: boolean): string[] {
  const out: string[] = [];
  let depth = 0;
  let current = "";
  for (const char of text) {
    if (keepGroups && (char === "[" || char === "(")) depth++;
    if (keepGroups && (char === "]" || char === ")")) depth = Math.max(0, depth - 1);
    if (char === " " && depth === 0) {
      if (current) out.push(current);
      current = "";
    } else current += char;
  }
  if (current) out.push(current);
  return out;
}

/** Greedy fill to WIDTH columns; a group longer than a line gets a line of its own. */
export function wrap(
  text: string,
  indent: string,
  hanging: string = indent,
  keepGroups = false,
): string[] {
  const lines: string[] = [];
  let line = indent;
  let fresh = true;
  for (const word of groups(text, keepGroups)) {
    if (!fresh && line.length + 1 + word.length > WIDTH) {
      lines.push(line);
      line = hanging + word;
    } else line += fresh ? word : ` ${word}`;
    fresh = false;
  }
  if (!fresh) lines.push(line);
  return lines;
}

/** In the overview, continuation lines start after the command's name (`keys generate `). */
const synopsis = (form: Form, indent: string) => {
  const name = /^(?:[a-z]+ )+/.exec(form.synopsis)?.[0] ?? "";
  return wrap(form.synopsis, indent, " ".repeat(indent.length + name.length), true);
};

/** Every command, one synopsis and one line each. */
export function overview(): string {
  const lines = ["usage: sessionkit <command> [options]", "", "commands:"];
  for (const { forms } of Object.values(COMMANDS)) {
    for (const form of Object.values(forms)) {
      lines.push(...synopsis(form, "  "), ...wrap(form.summary, "      "));
    }
  }
  lines.push("", ...wrap(`${CONVENTIONS} ${MORE}`, ""));
  return lines.join("\n");
}

/** `sessionkit help COMMAND [SUB]`: that command (or subcommand) in full. */
export function commandHelp(command: string, sub?: string): string {
  const entry = Object.hasOwn(COMMANDS, command) ? COMMANDS[command] : undefined;
  if (!entry) throw new UsageError(`unknown command "${command}" (try: sessionkit help)`);
  const names = Object.keys(entry.forms);
  // A command without subcommands (serve, migrate) ignores what follows it, as --help does.
  const whole = sub === undefined || names.length === 1;
  if (!whole && !Object.hasOwn(entry.forms, sub)) {
    throw new UsageError(`unknown ${command} subcommand "${sub}" (one of ${names.join(", ")})`);
  }
  const chosen = whole ? names : [sub];
  const lines: string[] = [];
  for (const name of chosen) {
    const form = entry.forms[name] as Form;
    lines.push(...wrap(form.synopsis, "usage: sessionkit ", "         ", true));
    lines.push(...wrap(`${form.summary} ${form.details ?? ""}`.trim(), "  "));
    const column = Math.max(0, ...(form.table ?? []).map(([left]) => left.length)) + 2;
    for (const [left, right] of form.table ?? []) lines.push(`    ${left.padEnd(column)}${right}`);
    lines.push("");
  }
  if (entry.notes) lines.push(...wrap(entry.notes, ""), "");
  lines.push(...wrap(CONVENTIONS, ""));
  return lines.join("\n");
}
