import type { SessionStore } from "../stores/types.js";

/**
 * The in-memory revocation set of the `jwt` strategy: revoked session ids, each kept until the
 * last token it could have been issued expires. Fed by the store's change feed, so checking
 * a token against it is a map lookup with no I/O.
 */
export class RevocationSet {
  readonly #until = new Map<string, number>();
  #unsubscribe: () => void = () => {};

  follow(store: SessionStore): void {
    this.#unsubscribe = store.subscribe((change) => this.add(change.id, change.expiresAt));
  }

  add(sessionId: string, until: number): void {
    this.#until.set(sessionId, Math.max(until, this.#until.get(sessionId) ?? 0));
  }

  has(sessionId: string, now: number): boolean {
    const until = this.#until.get(sessionId);
    if (until === undefined) return false;
    if (until > now) return true;
    this.#until.delete(sessionId);
    return false;
  }

  get size(): number {
    return this.#until.size;
  }

  close(): void {
    this.#unsubscribe();
  }
}
