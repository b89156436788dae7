import type pg from "pg";

// One deadline helper for every network store.
export { within } from "../deadline.js";

/**
 * Closes a connection's socket at once. `end()` says goodbye and waits for the server's,
 * which a blackholed link never delivers; a destroyed socket fails the pending query, and the
 * client leaves the pool when it is released with that error.
 */
export function destroyConnection(client: pg.Client | pg.PoolClient): void {
  // A pooled client is a `pg.Client` too; its type leaves the connection out.
  (client as pg.Client).connection.stream.destroy();
}
