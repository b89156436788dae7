/**
 * Settles like `promise`, or rejects once `ms` have passed. Shared by the network stores
 * (PostgreSQL, Redis): a link that drops packets without closing (no FIN, no RST) leaves a
 * request waiting forever, and neither driver bounds the whole of a call (connection,
 * handshake, queue, reply) by itself. `onTimeout` runs before the rejection, so that the
 * caller can make sure the abandoned work never runs later (abort it, destroy its connection).
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
