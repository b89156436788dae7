import type { StoreChange } from "./types.js";

/** In-process change feed: listeners are called synchronously; a throwing listener is isolated. */
export class LocalFeed {
  readonly #listeners = new Set<(change: StoreChange) => void>();

  subscribe(listener: (change: StoreChange) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  get size(): number {
    return this.#listeners.size;
  }

  emit(change: StoreChange): void {
    for (const listener of this.#listeners) {
      try {
        listener(change);
      } catch {
        // A subscriber's bug must not undo or interrupt a revocation already committed.
      }
    }
  }
}
