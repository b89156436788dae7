import { parseArgs } from "node:util";
import type { SessionStore } from "../index.js";
import { isStoreSpec, openStore } from "../server/stores.js";
import { parseSubcommand } from "./args.js";
import { type Io, UsageError } from "./io.js";

/** `--store` (memory, sqlite, postgres://) or `--database` (a SQLite path or postgres://). */
function openCliStore(
  values: { database?: string | undefined; store?: string | undefined },
  env: Record<string, string | undefined>,
): Promise<SessionStore> {
  const database = values.database ?? env.SESSIONKIT_DATABASE ?? "data/sessionkit.db";
  const store =
    values.store ?? env.SESSIONKIT_STORE ?? (isStoreSpec(database) ? database : "sqlite");
  if (!isStoreSpec(store))
    throw new UsageError(`--store: "${store}" is not one of sqlite, memory, postgres://…`);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(database) && !isStoreSpec(database)) {
    throw new UsageError(`--database: "${database}" is neither a SQLite path nor postgres://…`);
  }
  return openStore(store, database);
}

/** `sessionkit migrate`: opening the store applies the schema; says which version it is at. */
export async function migrateCommand(args: string[], io: Io): Promise<number> {
  const { values } = parseArgs({ args, options: { database: { type: "string" } }, strict: true });
  const store = await openCliStore(values, io.env);
  await store.ping();
  await store.close();
  io.out(
    `schema is up to date (${values.database ?? io.env.SESSIONKIT_DATABASE ?? "data/sessionkit.db"})`,
  );
  return 0;
}

export async function sessionsCommand(args: string[], io: Io): Promise<number> {
  const { sub, values, positionals } = parseSubcommand(args, {
    user: { type: "string" },
    database: { type: "string" },
    store: { type: "string" },
    json: { type: "boolean" },
  });
  if (sub === "list") {
    if (!values.user || positionals.length > 0)
      throw new UsageError("sessions list needs --user ID and nothing else");
    const store = await openCliStore(values, io.env);
    try {
      const sessions = await store.listUser(values.user, Date.now());
      if (values.json) {
        io.out(
          JSON.stringify(
            sessions.map(({ secretHash, previousSecretHash, successor, ...rest }) => rest),
            null,
            2,
          ),
        );
      } else {
        io.out(
          ["id", "strategy", "created", "last active", "expires", "ip", "user agent"].join("\t"),
        );
        for (const s of sessions) {
          const iso = (t: number) => new Date(t).toISOString();
          io.out(
            [
              s.id,
              s.strategy,
              iso(s.createdAt),
              iso(s.lastActiveAt),
              iso(s.expiresAt),
              s.ip ?? "",
              s.userAgent ?? "",
            ].join("\t"),
          );
        }
      }
      return 0;
    } finally {
      await store.close();
    }
  }
  if (sub === "revoke") {
    const byUser = values.user !== undefined;
    if (byUser === positionals.length > 0 || positionals.length > 1) {
      throw new UsageError("sessions revoke takes one session ID or --user ID");
    }
    const store = await openCliStore(values, io.env);
    try {
      if (byUser) {
        const gone = await store.deleteUser(values.user ?? "", { reason: "revoked-user" });
        io.out(`revoked ${gone.length} session(s) of user ${values.user}`);
        return 0;
      }
      const id = positionals[0] ?? "";
      const gone = await store.delete(id, "revoked");
      if (!gone) {
        io.err(`sessionkit: no session ${id}`);
        return 1;
      }
      io.out(`revoked session ${id}`);
      return 0;
    } finally {
      await store.close();
    }
  }
  throw new UsageError(
    sub ? `unknown sessions subcommand "${sub}"` : "sessions needs list or revoke",
  );
}
