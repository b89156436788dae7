import type { StoreChange } from "./types.js";

/**
 * How long past a revoked record's `expiresAt` every store keeps a revocation for subscribers
 * that come later (its log, and each instance's local feed): at least as long as a verifier
 * accepts a token past its `exp` (30 s of clock skew by default, 5 minutes at most). A token
 * never outlives its record's `expiresAt`, so this covers every token a revocation names.
 */
export const REVOCATION_MARGIN_MS = 5 * 60_000;

const PRUNE_FLOOR = 1024;

/**
 * In-process change feed: listeners are called synchronously; a throwing listener is isolated.
 * It remembers the revocations still inside their window and replays them to each new
 * subscriber, so that one subscribing late (a second manager on the same store, or one created
 * after the store replayed its log on start) knows as much as the first. A revocation heard
 * again (a replay of the log) is announced only once.
 */
export class LocalFeed {
  readonly #listeners = new Set<(change: StoreChange) => void>();
  /** Revocations by session id, until `expiresAt + REVOCATION_MARGIN_MS` on the wall clock. */
  readonly #recent = new Map<string, StoreChange>();
  #pruneAt = PRUNE_FLOOR;

  subscribe(listener: (change: StoreChange) => void): () => void {
    this.#prune();
    for (const change of [...this.#recent.values()]) call(listener, change);
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  get size(): number {
    return this.#listeners.size;
  }

  emit(change: StoreChange): void {
    const known = this.#recent.get(change.id);
    if (known && known.expiresAt >= change.expiresAt) return;
    // Like the stores' replay windows, this follows the wall clock: it is about which tokens
    // can still verify anywhere, not about this manager's (possibly injected) clock.
    if (change.expiresAt + REVOCATION_MARGIN_MS > Date.now()) {
      this.#recent.set(change.id, change);
      if (this.#recent.size >= this.#pruneAt) this.#prune();
    }
    for (const listener of this.#listeners) call(listener, change);
  }

  /** Forgets what is past its window; amortised: runs again once the map has doubled. */
  #prune(): void {
    const now = Date.now();
    for (const [id, change] of this.#recent) {
      if (change.expiresAt + REVOCATION_MARGIN_MS <= now) this.#recent.delete(id);
    }
    this.#pruneAt = Math.max(PRUNE_FLOOR, this.#recent.size * 2);
  }
}

/** Starts and stops a store's follower of what other instances revoke. */
export interface Follower {
  start(): void;
  stop(): void;
}

/**
 * A store's `subscribe`: listeners hear the local feed, and the follower of other instances
 * runs while anyone listens.
 */
export function subscribeFollowing(feed: LocalFeed, follower: Follower) {
  return (listener: (change: StoreChange) => void): (() => void) => {
    const unsubscribe = feed.subscribe(listener);
    follower.start();
    return () => {
      unsubscribe();
      if (feed.size === 0) follower.stop();
    };
  };
}

function call(listener: (change: StoreChange) => void, change: StoreChange): void {
  try {
    listener(change);
  } catch {
    // A subscriber's bug must not undo or interrupt a revocation already committed.
  }
}
