/**
 * A min-heap of (expiresAt, id) so that expired records are found without scanning the live
 * ones. Entries are never updated in place: a slid or deleted record leaves a stale entry
 * behind, which the caller recognises (its record is gone or has another expiry) and skips.
 * Two parallel arrays keep an entry at 16 bytes: the expiries as unboxed doubles, and the ids
 * (the strings the records hold).
 */
export class ExpiryHeap {
  #at: number[] = [];
  #ids: string[] = [];
  /** The most entries held since the arrays were last copied to their size. */
  #peak = 0;

  get size(): number {
    return this.#at.length;
  }

  /** The earliest expiry in the heap (`Infinity` when it is empty). */
  get nextAt(): number {
    return this.#at.length > 0 ? (this.#at[0] ?? 0) : Number.POSITIVE_INFINITY;
  }

  push(expiresAt: number, id: string): void {
    const at = this.#at;
    const ids = this.#ids;
    let i = at.length;
    at.push(expiresAt);
    ids.push(id);
    if (i >= this.#peak) this.#peak = i + 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const parentAt = at[parent] ?? 0;
      if (parentAt <= expiresAt) break;
      at[i] = parentAt;
      ids[i] = ids[parent] ?? "";
      i = parent;
    }
    at[i] = expiresAt;
    ids[i] = id;
  }

  /** Removes the earliest entry and returns its id (`""` if the heap is empty). */
  pop(): string {
    const at = this.#at;
    const ids = this.#ids;
    if (at.length === 0) return "";
    const top = ids[0] ?? "";
    const lastAt = at.pop() ?? 0;
    const lastId = ids.pop() ?? "";
    const n = at.length;
    if (n > 0) {
      // Sift the last entry down from the root.
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        if (left >= n) break;
        const right = left + 1;
        let child = left;
        let childAt = at[left] ?? 0;
        if (right < n && (at[right] ?? 0) < childAt) {
          child = right;
          childAt = at[right] ?? 0;
        }
        if (!(childAt < lastAt)) break;
        at[i] = childAt;
        ids[i] = ids[child] ?? "";
        i = child;
      }
      at[i] = lastAt;
      ids[i] = lastId;
    }
    // Popping never shrinks an array's storage: past a peak, copy the arrays to their size.
    if (this.#peak > 4096 && n < this.#peak >> 2) {
      this.#at = at.slice();
      this.#ids = ids.slice();
      this.#peak = n;
    }
    return top;
  }
}
