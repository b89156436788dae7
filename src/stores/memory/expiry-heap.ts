/**
 * A min-heap of (expiresAt, id) so that expired records are found without scanning the live
 * ones. Entries are never updated in place: a slid or deleted record leaves a stale entry
 * behind, which the caller recognises (its record's expiry differs) and skips.
 */
export class ExpiryHeap {
  #at: number[] = [];
  #ids: string[] = [];

  get size(): number {
    return this.#at.length;
  }

  push(expiresAt: number, id: string): void {
    this.#at.push(expiresAt);
    this.#ids.push(id);
    let i = this.#at.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if ((this.#at[parent] ?? 0) <= expiresAt) break;
      this.#swap(i, parent);
      i = parent;
    }
  }

  /** The earliest entry, if it is due at `now`, removed from the heap. */
  popDue(now: number): { expiresAt: number; id: string } | undefined {
    const top = this.#at[0];
    if (top === undefined || top > now) return undefined;
    const id = this.#ids[0] ?? "";
    const lastAt = this.#at.pop() ?? 0;
    const lastId = this.#ids.pop() ?? "";
    if (this.#at.length > 0) {
      this.#at[0] = lastAt;
      this.#ids[0] = lastId;
      this.#siftDown(0);
    }
    return { expiresAt: top, id };
  }

  #siftDown(start: number): void {
    const n = this.#at.length;
    let i = start;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let least = i;
      if (left < n && (this.#at[left] ?? 0) < (this.#at[least] ?? 0)) least = left;
      if (right < n && (this.#at[right] ?? 0) < (this.#at[least] ?? 0)) least = right;
      if (least === i) return;
      this.#swap(i, least);
      i = least;
    }
  }

  #swap(a: number, b: number): void {
    [this.#at[a], this.#at[b]] = [this.#at[b] ?? 0, this.#at[a] ?? 0];
    [this.#ids[a], this.#ids[b]] = [this.#ids[b] ?? "", this.#ids[a] ?? ""];
  }
}
