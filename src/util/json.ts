/** Any value JSON can carry: what session data is made of. */
export type JsonValue =
  | string
  | number
  | boolean
  | null
  | JsonValue[]
  | { [key: string]: JsonValue };
/** A JSON object: the shape of a session's data. */
export type JsonObject = { [key: string]: JsonValue };

/** Deep copy of JSON data; several times faster than `structuredClone` for small objects. */
export function cloneJson<T extends JsonValue>(value: T): T {
  if (typeof value !== "object" || value === null) return value;
  if (Array.isArray(value)) return value.map((v) => cloneJson(v)) as T;
  const out: { [key: string]: JsonValue } = {};
  for (const key of Object.keys(value)) {
    const item = cloneJson((value as { [key: string]: JsonValue })[key] as JsonValue);
    // An own "__proto__" key (JSON.parse makes those) must stay data, not become a prototype.
    if (key === "__proto__") {
      Object.defineProperty(out, key, {
        value: item,
        enumerable: true,
        writable: true,
        configurable: true,
      });
    } else {
      out[key] = item;
    }
  }
  return out as T;
}
