import type { SessionStore } from "../index.js";
import { isStoreSpec, openStore } from "../server/stores.js";
import { parseOptions, parseSubcommand } from "./args.js";
import { type Io, UsageError } from "./io.js";
import { findUser } from "./users.js";

type Where = { database?: string | undefined; store?: string | undefined };
type Env = Record<string, string | undefined>;

/** Where `serve` keeps users (and sessions, unless `--store` says otherwise), by default too. */
const databaseOf = (values: Where, env: Env) =>
  values.database ?? env.SESSIONKIT_DATABASE ?? "data/sessionkit.db";

/** `--store` (memory, sqlite, postgres://) or `--database` (a SQLite path or postgres://). */
function openCliStore(values: Where, env: Env): Promise<SessionStore> {
  const database = databaseOf(values, env);
  const store =
    values.store ?? env.SESSIONKIT_STORE ?? (isStoreSpec(database) ? database : "sqlite");
  if (!isStoreSpec(store))
    throw new UsageError(`--store: "${store}" is not one of sqlite, memory, postgres://…`);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(database) && !isStoreSpec(database)) {
    throw new UsageError(`--database: "${database}" is neither a SQLite path nor postgres://…`);
  }
  return openStore(store, database);
}

/** A control character as the `\u` escape JSON reads back as the same character. */
const escaped = (c: string) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`;

/**
 * A client-sent string made safe to print: its tabs would shift the table's columns, and control
 * characters (C0, DEL, C1 such as U+009B, a CSI) could drive the terminal of whoever reads it.
 */
const printable = (text: string) => text.replace(/\p{Cc}/gu, escaped);

/**
 * JSON made as safe: `JSON.stringify` escapes C0 in strings but not DEL and C1, which can only
 * stand inside strings here; its own line breaks stay.
 */
const printableJson = (json: string) =>
  json.replace(/\p{Cc}/gu, (c) => (c === "\n" ? c : escaped(c)));

/** `sessionkit migrate`: opening the store applies the schema; says which version it is at. */
export async function migrateCommand(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseOptions(args, { database: "string" }, "migrate");
  if (positionals.length > 0)
    throw new UsageError(`migrate: unexpected argument ${positionals[0]}`);
  const store = await openCliStore(values, io.env);
  await store.ping();
  await store.close();
  io.out(`schema is up to date (${databaseOf(values, io.env)})`);
  return 0;
}

/**
 * The user id that `--user` names: a username of the reference server's user table, else
 * the value itself (an application's own user ids have no table here). Null when it is
 * neither a known user nor the owner of live sessions: an unknown name is an error, not an
 * empty list.
 */
async function resolveUser(value: string, values: Where, store: SessionStore, io: Io) {
  const database = databaseOf(values, io.env);
  const user = await findUser(database, value);
  if (user && user.id !== value) io.err(`user ${user.username} has id ${user.id}`);
  const userId = user?.id ?? value;
  const sessions = await store.listUser(userId, Date.now());
  if (!user && sessions.length === 0) {
    io.err(
      `sessionkit: unknown user "${value}": no such username in ${database}, and no live sessions with that user id`,
    );
    return null;
  }
  return { userId, sessions };
}

export async function sessionsCommand(args: string[], io: Io): Promise<number> {
  const where = { database: "string", store: "string" } as const;
  const { sub, values, positionals } = parseSubcommand("sessions", args, {
    list: { user: "string", json: "boolean", ...where },
    revoke: { user: "string", ...where },
  });
  if (sub === "list") {
    if (!values.user || positionals.length > 0)
      throw new UsageError("sessions list needs --user NAME|ID and nothing else");
    const store = await openCliStore(values, io.env);
    try {
      const found = await resolveUser(values.user, values, store, io);
      if (!found) return 1;
      if (values.json) {
        io.out(
          printableJson(
            JSON.stringify(
              found.sessions.map(({ secretHash, previousSecretHash, successor, ...rest }) => rest),
              null,
              2,
            ),
          ),
        );
        return 0;
      }
      io.out(
        ["id", "strategy", "created", "last active", "expires", "ip", "user agent"].join("\t"),
      );
      const iso = (t: number) => new Date(t).toISOString();
      for (const s of found.sessions) {
        io.out(
          [
            s.id,
            s.strategy,
            iso(s.createdAt),
            iso(s.lastActiveAt),
            iso(s.expiresAt),
            printable(s.ip ?? ""),
            printable(s.userAgent ?? ""),
          ].join("\t"),
        );
      }
      return 0;
    } finally {
      await store.close();
    }
  }
  const byUser = values.user !== undefined;
  if (byUser === positionals.length > 0 || positionals.length > 1) {
    throw new UsageError("sessions revoke takes one session ID or --user NAME|ID");
  }
  const store = await openCliStore(values, io.env);
  try {
    if (values.user !== undefined) {
      const found = await resolveUser(values.user, values, store, io);
      if (!found) return 1;
      const gone = await store.deleteUser(found.userId, { reason: "revoked-user" });
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
