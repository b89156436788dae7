/**
 * Strict JSON for token headers and payloads: valid UTF-8, one JSON object, and no member
 * name twice in any object (RFC 7515 §5.2 lets parsers pick either duplicate, so two
 * verifiers could read two different tokens from one string; we refuse such strings).
 */
export function parseStrictJsonObject(bytes: Buffer): Record<string, unknown> | null {
  let text: string;
  try {
    text = UTF8.decode(bytes);
  } catch {
    return null;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return null;
  return hasDuplicateMembers(text) ? null : (value as Record<string, unknown>);
}

const UTF8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * Walks already-valid JSON text and reports whether an object repeats a member name. Names
 * are compared after unescaping (`"a"` and `"\u0061"` are the same name).
 */
export function hasDuplicateMembers(text: string): boolean {
  const stack: Array<Set<string> | null> = []; // a Set per open object, null per open array
  let expectName = false;
  let i = 0;
  while (i < text.length) {
    const ch = text[i];
    if (ch === "{") {
      stack.push(new Set());
      expectName = true;
      i++;
    } else if (ch === "[") {
      stack.push(null);
      expectName = false;
      i++;
    } else if (ch === "}" || ch === "]") {
      stack.pop();
      expectName = false;
      i++;
    } else if (ch === ",") {
      expectName = stack[stack.length - 1] instanceof Set;
      i++;
    } else if (ch === '"') {
      let end = i + 1;
      while (text[end] !== '"') end += text[end] === "\\" ? 2 : 1;
      if (expectName) {
        const name = JSON.parse(text.slice(i, end + 1)) as string;
        const members = stack[stack.length - 1];
        if (members?.has(name)) return true;
        members?.add(name);
        expectName = false;
      }
      i = end + 1;
    } else {
      i++;
    }
  }
  return false;
}
