import type { SessionStore, StoredSession } from "../../src/index.js";
import { makeRecord } from "../../src/testing/store-conformance.js";

/**
 * A record for `store` as the manager would make it for `userId` at `now` (the store's own
 * session id, so that a Redis Cluster finds the user's slot): the conformance suite's record,
 * live for a minute, with `overrides` on top.
 */
export function recordFor(
  store: SessionStore,
  userId: string,
  now: number,
  overrides: Partial<StoredSession> = {},
): StoredSession {
  return makeRecord({
    ...(store.newSessionId ? { id: store.newSessionId(userId) } : {}),
    userId,
    createdAt: now,
    expiresAt: now + 60_000,
    absoluteExpiresAt: now + 3_600_000,
    ...overrides,
  });
}
