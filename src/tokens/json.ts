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
  return hasDuplicateMembers(text) ? null : (value as Record<string, unknown>);
}

const QUOTE = 34;
const BACKSLASH = 92;
const OPEN_OBJECT = 123;
const CLOSE_OBJECT = 125;
const OPEN_ARRAY = 91;
const CLOSE_ARRAY = 93;
const COMMA = 44;

/**
 * Walks already-valid JSON text and reports whether an object repeats a member name. Names
 * are compared after unescaping (`"a"` and `"\u0061"` are the same name).
 */
export function hasDuplicateMembers(text: string): boolean {
  const stack: Array<Set<string> | null> = []; // a Set per open object, null per open array
  let expectName = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (ch === QUOTE) {
      let end = text.indexOf('"', i + 1);
      let escaped = false;
      // A quote preceded by an odd number of backslashes is part of the string.
      for (;;) {
        let slashes = 0;
        while (text.charCodeAt(end - 1 - slashes) === BACKSLASH) slashes++;
        if (slashes % 2 === 0) break;
        escaped = true;
        end = text.indexOf('"', end + 1);
      }
      if (expectName) {
        const raw = text.slice(i + 1, end);
        const name = escaped || raw.includes("\\") ? (JSON.parse(`"${raw}"`) as string) : raw;
        const members = stack[stack.length - 1];
        if (members?.has(name)) return true;
        members?.add(name);
        expectName = false;
      }
      i = end;
    } else if (ch === OPEN_OBJECT) {
      stack.push(new Set());
      expectName = true;
    } else if (ch === OPEN_ARRAY) {
      stack.push(null);
      expectName = false;
    } else if (ch === CLOSE_OBJECT || ch === CLOSE_ARRAY) {
      stack.pop();
      expectName = false;
    } else if (ch === COMMA) {
      expectName = stack[stack.length - 1] instanceof Set;
    }
  }
  return false;
}
