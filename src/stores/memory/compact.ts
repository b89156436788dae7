/**
 * Compact forms of the values the memory store keeps, each converted back exactly at the
 * boundary: what a caller reads is always equal to what it wrote.
 */

/**
 * A SHA-256 as `hashSecret` spells it: canonical base64url of 32 bytes (the last character
 * carries 4 of its 6 bits, so each value has exactly one spelling and decoding round-trips).
 */
const HASH = /^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$/;
const HASH_BYTES = 32;
/** For the conversions, which run to completion one at a time. */
const scratch = Buffer.allocUnsafeSlow(HASH_BYTES);

/** A string of exactly `HASH_BYTES` characters kept as given, not to be read as a packed hash. */
class Verbatim {
  constructor(readonly value: string) {}
}

/** What a hash cell holds: a packed hash, a value kept as it is, or a wrapped look-alike. */
export type PackedHash = string | Verbatim | null | undefined;

/**
 * A hash in 32 one-byte characters (48 bytes of heap instead of 64); any other value as it is.
 * A given string that already has the packed length is wrapped, so that it never reads back
 * as a packed hash.
 */
export function packHash(value: string | null): PackedHash {
  if (typeof value !== "string") return value;
  if (value.length === 43 && HASH.test(value)) {
    scratch.write(value, 0, "base64url");
    return scratch.toString("latin1", 0, HASH_BYTES);
  }
  return value.length === HASH_BYTES ? new Verbatim(value) : value;
}

export function unpackHash(packed: PackedHash): string | null {
  if (typeof packed === "string") {
    if (packed.length !== HASH_BYTES) return packed;
    scratch.write(packed, 0, "latin1");
    return scratch.toString("base64url", 0, HASH_BYTES);
  }
  // `null`, or whatever else the caller stored (an absent hash stays absent).
  return packed instanceof Verbatim ? packed.value : (packed as null);
}

/**
 * One shared copy of each recurring string (user agents, addresses): a request parses its own
 * copy of a header that thousands of sessions carry. Bounded: past `capacity` distinct values
 * it starts afresh, and strings longer than `maxLength` are kept as given.
 */
export class Interner {
  readonly #known = new Map<string, string>();
  readonly #capacity: number;
  readonly #maxLength: number;

  constructor(capacity: number, maxLength: number) {
    this.#capacity = capacity;
    this.#maxLength = maxLength;
  }

  intern<T>(value: T): T {
    if (typeof value !== "string" || value.length > this.#maxLength) return value;
    const known = this.#known.get(value);
    if (known !== undefined) return known as T;
    if (this.#known.size >= this.#capacity) this.#known.clear();
    this.#known.set(value, value);
    return value;
  }
}
