import { hashesEqual } from "../../tokens/opaque.js";

/**
 * The secrets a session's rotations replaced, as one string in `previousSecretHash`: the
 * hash of the one the last rotation replaced, in full (the grace may still honour it), then a
 * prefix of each older one, most recent first, joined with `.` (not a base64url character).
 * Carried in the field every store already keeps, so no store needs a new column or slot, and
 * a store that predates the list holds a list of one.
 *
 * The older ones are never used to authenticate, only to recognise a token we issued coming
 * back: 96 bits of its SHA-256 are far past what anyone can forge online, and 17 bytes each
 * keep a rotated session's record small (Redis memory is per session).
 */

/** How many secrets before the previous one are remembered: 8 rotations of a session. */
export const RETIRED_KEPT = 8;
/** base64url characters of the SHA-256 kept for each older secret: 96 bits. */
const PREFIX_LENGTH = 16;
const SEPARATOR = ".";

/** The full hash of the secret the last rotation replaced, or `null`. */
export function previousHash(replaced: string | null): string | null {
  if (replaced === null) return null;
  const end = replaced.indexOf(SEPARATOR);
  return end < 0 ? replaced : replaced.slice(0, end);
}

/** Whether `hash` is that of a secret replaced before the previous one, among those kept. */
export function isRetired(hash: string, replaced: string | null): boolean {
  if (replaced === null || !replaced.includes(SEPARATOR)) return false;
  const prefix = hash.slice(0, PREFIX_LENGTH);
  let found = false;
  // Every entry is compared: the time taken says nothing about which one matched.
  for (const entry of replaced.split(SEPARATOR).slice(1))
    found = hashesEqual(prefix, entry) || found;
  return found;
}

/**
 * What a rotation that replaces `current` stores: `current` in full, then the record's previous
 * and older ones shortened, at most `keep` of them (0: only `current`, as the `id` strategy
 * keeps it). The caller's compare-and-swap on `current` makes `replaced` the record's own.
 */
export function nextReplaced(current: string, replaced: string | null, keep: number): string {
  if (keep <= 0 || replaced === null) return current;
  const older = replaced
    .split(SEPARATOR)
    .slice(0, keep)
    .map((hash) => hash.slice(0, PREFIX_LENGTH));
  return [current, ...older].join(SEPARATOR);
}
