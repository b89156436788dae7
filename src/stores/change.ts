import type { LocalFeed } from "./feed.js";
import type { RevocationReason, StoreChange, StoredSession } from "./types.js";

/** What a revocation names of the session it ends. */
export type Revoked = Pick<StoredSession, "id" | "userId" | "strategy" | "expiresAt">;

/**
 * The one place a revocation is built, from a record (or a log entry or message naming one):
 * only the fields the contract announces are copied, so that neither a record's secrets and
 * data nor whatever else a message from the wire carries reach the subscribers.
 */
export function changeOf(record: Revoked, reason: RevocationReason): StoreChange {
  return {
    type: "revoked",
    id: record.id,
    userId: record.userId,
    strategy: record.strategy,
    expiresAt: record.expiresAt,
    reason,
  };
}

/** Announces deleted records on the local feed, one revocation each. */
export function announce(feed: LocalFeed, records: Revoked[], reason: RevocationReason): void {
  for (const record of records) feed.emit(changeOf(record, reason));
}
