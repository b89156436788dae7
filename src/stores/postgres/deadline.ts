import type pg from "pg";

/**
 * Settles like `promise`, or rejects once `ms` have passed: a link that drops packets without
 * closing (no FIN, no RST) leaves a query waiting forever, and `pg` has no deadline of its own
 * for a query already sent. `onTimeout` runs before the rejection.
 */
export function within<T>(promise: Promise<T>, ms: number, onTimeout?: () => void): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onTimeout?.();
      reject(Object.assign(new Error(`no answer within ${ms} ms`), { code: "ETIMEDOUT" }));
    }, ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

/**
 * Closes a connection's socket at once. `end()` says goodbye and waits for the server's,
 * which a blackholed link never delivers; a destroyed socket fails the pending query, and the
 * client leaves the pool when it is released with that error.
 */
export function destroyConnection(client: pg.Client | pg.PoolClient): void {
  // A pooled client is a `pg.Client` too; its type leaves the connection out.
  (client as pg.Client).connection.stream.destroy();
}
