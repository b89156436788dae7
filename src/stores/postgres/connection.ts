import type pg from "pg";
import { SessionError } from "../../errors.js";
import { destroyConnection, within } from "./deadline.js";
import { migrations } from "./schema.js";

// Connection-level failures: SQLSTATE class 08 (connection exception), 57P (shutdown), 53300
// (too many connections), and the errors of a socket that cannot reach the server.
const UNAVAILABLE_CODES = /^(08|57P|53300|ECONN|ETIMEDOUT|EPIPE|ENOTFOUND|EHOSTUNREACH|EAI_AGAIN)/;
const UNAVAILABLE_MESSAGES =
  /Connection terminated|timeout exceeded|Client has encountered a connection error|connection is closed|Cannot use a pool after calling end/i;

/**
 * How the PostgreSQL store talks to the server: every call within one deadline, on pooled
 * connections that are destroyed when they miss it, after the schema is known to be current;
 * connection failures become STORE_UNAVAILABLE.
 */
export function postgresConnection(pool: pg.Pool, prefix: string, timeout: number) {
  let ready: Promise<void> | null = null;

  const guard = async <T>(operation: (deadlineAt: number) => Promise<T>): Promise<T> => {
    // One deadline for the whole call: a connection taken for it is destroyed when the call
    // answers, so a transaction cannot commit after its caller was told STORE_UNAVAILABLE.
    const deadlineAt = Date.now() + timeout;
    let late = false;
    try {
      // One deadline for the whole call, schema check included; each connection it used has
      // its own (`withClient`), which destroys it.
      return await within(
        (async () => {
          ready ??= migrate().catch((error: unknown) => {
            ready = null; // retried by the next call once the server is back
            throw error;
          });
          await ready;
          // A call that has answered STORE_UNAVAILABLE already must not start afterwards: a
          // revocation reported as failed would land after what followed it.
          if (late) throw new Error("gave up before the schema was ready");
          return await operation(deadlineAt);
        })(),
        timeout,
        () => {
          late = true;
        },
      );
    } catch (error) {
      const code = String((error as { code?: unknown }).code ?? "");
      const message = error instanceof Error ? error.message : String(error);
      if (UNAVAILABLE_CODES.test(code) || UNAVAILABLE_MESSAGES.test(message)) {
        throw new SessionError(
          "STORE_UNAVAILABLE",
          `postgres store unavailable: ${code || message}`,
          { cause: error },
        );
      }
      throw error;
    }
  };

  // A dropped connection is reported through the failing query; this listener, attached once
  // per client, keeps the same event from surfacing as an uncaught error, also when the
  // client emits it after it was released.
  const quieted = new WeakSet<pg.PoolClient>();
  const ignore = () => {};

  /**
   * Runs `work` on one pooled connection within the store's deadline. A connection that misses
   * it is destroyed and leaves the pool: a blackholed one would otherwise hang every query
   * sent on it, for as long as the link stays silent. A connection that arrives after the
   * deadline goes straight back.
   */
  const withClient = <T>(
    work: (client: pg.PoolClient) => Promise<T>,
    deadlineAt = Date.now() + timeout,
  ): Promise<T> => {
    const left = deadlineAt - Date.now();
    if (left <= 0) return Promise.reject(new Error(`no answer within ${timeout} ms`));
    let client: pg.PoolClient | null = null;
    let expired = false;
    const run = pool.connect().then(async (c) => {
      if (expired) {
        c.release();
        throw new Error("connection arrived after the deadline");
      }
      client = c;
      if (!quieted.has(c)) {
        c.on("error", ignore);
        quieted.add(c);
      }
      try {
        const result = await work(c);
        c.release();
        return result;
      } catch (error) {
        // A client whose connection failed is destroyed, not returned to the pool.
        c.release(error instanceof Error ? error : new Error(String(error)));
        throw error;
      }
    });
    return within(run, left, () => {
      expired = true;
      if (client) destroyConnection(client);
      run.catch(() => {});
    });
  };

  /** Runs `work` in one transaction, optionally after taking the advisory lock `lock`. */
  const inTransaction = async <T>(
    client: pg.PoolClient,
    work: (q: pg.PoolClient) => Promise<T>,
    lock?: string,
  ): Promise<T> => {
    try {
      await client.query("BEGIN");
      if (lock !== undefined)
        await client.query("SELECT pg_advisory_xact_lock(hashtext($1))", [lock]);
      const result = await work(client);
      await client.query("COMMIT");
      return result;
    } catch (error) {
      await client.query("ROLLBACK").catch(() => {});
      throw error;
    }
  };

  function migrate(): Promise<void> {
    return withClient((client) =>
      inTransaction(
        client,
        async () => {
          await client.query(
            `CREATE TABLE IF NOT EXISTS ${prefix}schema (version integer NOT NULL)`,
          );
          const { rows } = await client.query<{ version: number }>(
            `SELECT version FROM ${prefix}schema`,
          );
          const current = rows[0]?.version ?? 0;
          const steps = migrations(prefix);
          if (current > steps.length)
            throw new Error(`postgres schema ${current} is newer than this sessionkit`);
          for (let v = current; v < steps.length; v++) await client.query(steps[v] ?? "");
          await client.query(`DELETE FROM ${prefix}schema`);
          await client.query(`INSERT INTO ${prefix}schema (version) VALUES ($1)`, [steps.length]);
        },
        `${prefix}migrate`,
      ),
    );
  }

  return {
    guard,
    query: <R extends pg.QueryResultRow>(text: string, values?: unknown[]) =>
      guard((deadlineAt) => withClient((c) => c.query<R>(text, values), deadlineAt)),
    /** Runs `work` in one transaction; optionally serialised per user by an advisory lock. */
    transaction: <T>(work: (q: pg.PoolClient) => Promise<T>, lockUser?: string) =>
      guard((deadlineAt) =>
        withClient(
          (client) =>
            inTransaction(
              client,
              work,
              lockUser === undefined ? undefined : `${prefix}u:${lockUser}`,
            ),
          deadlineAt,
        ),
      ),
  };
}
