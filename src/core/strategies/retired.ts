import { hashesEqual } from "../../tokens/opaque.js";

/**
 * The secrets a session's rotations replaced, as one string in `previousSecretHash`: the
 * hash of the one the last rotation replaced, in full (the grace may still honour it), then a
 * prefix of each older one, most recent first. Carried in the field every store already
 * keeps, so no store needs a new column or slot, and a store that predates the list holds a
 * list of one.
 *
 * The older ones are never used to authenticate, only to recognise a token we issued coming
 * back: 96 bits of its SHA-256 are far past what anyone can forge online, and 17 bytes each
 * keep a rotated session's record small (Redis memory is per session).
 *
 * Each older prefix follows a mark (neither is a base64url character): `.` when its grace
 * was over by a later rotation, so that presenting it is reuse at any time; `~` when a later
 * rotation came inside its grace (two refreshes within one grace), so that it may still be in
 * its grace until the last rotation's grace ends, which ends no earlier.
 */

/** How many secrets before the previous one are remembered: 8 rotations of a session. */
export const RETIRED_KEPT = 8;
/** base64url characters of the SHA-256 kept for each older secret: 96 bits. */
const PREFIX_LENGTH = 16;
const SETTLED = ".";
const OPEN = "~";
const MARKS = /[.~]/;

interface Retired {
  prefix: string;
  /** Replaced so recently, when the next rotation came, that its grace may not be over. */
  open: boolean;
}

function parse(replaced: string): { previous: string; older: Retired[] } {
  // `previous`, then mark and prefix pairs.
  const parts = replaced.split(/([.~])/);
  const older: Retired[] = [];
  for (let i = 1; i + 1 < parts.length; i += 2)
    older.push({ prefix: parts[i + 1] ?? "", open: parts[i] === OPEN });
  return { previous: parts[0] ?? "", older };
}

/** The full hash of the secret the last rotation replaced, or `null`. */
export function previousHash(replaced: string | null): string | null {
  if (replaced === null) return null;
  const end = replaced.search(MARKS);
  return end < 0 ? replaced : replaced.slice(0, end);
}

/**
 * Whether `hash` is that of a secret replaced before the previous one, among those kept, and
 * past its grace. `graceOver`: whether the last rotation's grace is over (then every older
 * secret's is too).
 */
export function isRetired(hash: string, replaced: string | null, graceOver: boolean): boolean {
  if (replaced === null || replaced.search(MARKS) < 0) return false;
  const prefix = hash.slice(0, PREFIX_LENGTH);
  let found = false;
  // Every entry is compared: the time taken says nothing about which one matched.
  for (const entry of parse(replaced).older)
    found = (hashesEqual(prefix, entry.prefix) && (graceOver || !entry.open)) || found;
  return found;
}

/**
 * What a rotation at `now` that replaces `current` stores: `current` in full, then the
 * record's previous and older ones shortened, at most `keep` of them (0: only `current`, as
 * the `id` strategy keeps it). `validUntil` is the end of the record's previous secret's
 * grace: once it is past, so is every older one's. The caller's compare-and-swap on `current`
 * makes `replaced` and `validUntil` the record's own.
 */
export function nextReplaced(
  current: string,
  replaced: string | null,
  validUntil: number | null,
  now: number,
  keep: number,
): string {
  if (keep <= 0 || replaced === null) return current;
  const settled = validUntil === null || now >= validUntil;
  const { previous, older } = parse(replaced);
  const entries = [{ prefix: previous.slice(0, PREFIX_LENGTH), open: !settled }, ...older];
  let out = current;
  for (const e of entries.slice(0, keep))
    out += (e.open && !settled ? OPEN : SETTLED) + e.prefix.slice(0, PREFIX_LENGTH);
  return out;
}
