import { isUtf8 } from "node:buffer";

/**
 * Strict JSON for token headers and payloads: valid UTF-8, one JSON object, and no member
 * name twice in any object (RFC 7515 §5.2 lets parsers pick either duplicate, so two
 * verifiers could read two different tokens from one string; we refuse such strings).
 */
export function parseStrictJsonObject(bytes: Buffer): Record<string, unknown> | null {
  if (!isUtf8(bytes)) return null;
  const text = bytes.toString("utf8");
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return null;
  return hasDuplicateMembers(text, value) ? null : (value as Record<string, unknown>);
}

/**
 * Whether valid JSON `text` repeats a member name in some object, given `value`, its parse.
 * `JSON.parse` keeps one member per distinct name (after unescaping, so `"a"` and `"\u0061"`
 * are one name): the text names more members than the value holds exactly when a name was
 * repeated. Each member is one `:` outside strings.
 */
export function hasDuplicateMembers(text: string, value: unknown = JSON.parse(text)): boolean {
  return colonsOutsideStrings(text) !== membersOf(value);
}

const QUOTE = 34;
const BACKSLASH = 92;
const COLON = 58;

function colonsOutsideStrings(text: string): number {
  let count = 0;
  let i = 0;
  const length = text.length;
  while (i < length) {
    const ch = text.charCodeAt(i);
    if (ch === COLON) {
      count++;
      i++;
    } else if (ch === QUOTE) {
      // To the closing quote: one not preceded by an odd number of backslashes.
      let end = text.indexOf('"', i + 1);
      for (;;) {
        if (end < 0) return -1; // not JSON after all: counts as a mismatch, never loops
        let slashes = 0;
        while (text.charCodeAt(end - 1 - slashes) === BACKSLASH) slashes++;
        if (slashes % 2 === 0) break;
        end = text.indexOf('"', end + 1);
      }
      i = end + 1;
    } else {
      i++;
    }
  }
  return count;
}

/** Members of every object in `value`, walked with a stack of its own (no recursion). */
function membersOf(value: unknown): number {
  let count = 0;
  const pending: unknown[] = [value];
  while (pending.length > 0) {
    const item = pending.pop();
    if (typeof item !== "object" || item === null) continue;
    if (Array.isArray(item)) {
      for (const element of item) pending.push(element);
      continue;
    }
    for (const key in item) {
      // Own members only: what the parse made, whatever else a prototype may carry.
      if (!Object.hasOwn(item, key)) continue;
      count++;
      pending.push((item as Record<string, unknown>)[key]);
    }
  }
  return count;
}
