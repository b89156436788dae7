/**
 * Cookie header parsing at the string level. Pure: no framework, no throwing on any input.
 * Every pair is kept, duplicates included, so that callers can refuse ambiguous auth cookies.
 */
export function parseCookieHeader(header: string | null | undefined): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  if (!header) return pairs;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq < 0) continue;
    const name = part.slice(0, eq).trim();
    if (name === "") continue;
    let value = part.slice(eq + 1).trim();
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"'))
      value = value.slice(1, -1);
    pairs.push([name, value]);
  }
  return pairs;
}

export type CookieLookup =
  | { status: "absent" }
  | { status: "ambiguous" }
  | { status: "found"; value: string };

/**
 * Finds the one cookie called `name`. Two cookies with that name, or any cookie whose name
 * differs only by case (`__host-sid` beside `__Host-sid`, which older browsers let a sibling
 * subdomain plant), make the lookup ambiguous: an auth cookie must be unique to be trusted.
 */
export function findAuthCookie(header: string | null | undefined, name: string): CookieLookup {
  if (!header) return { status: "absent" };
  // Scans in place (this runs on every request): no array of pairs is built.
  const lower = name.toLowerCase();
  let found: string | undefined;
  let start = 0;
  while (start < header.length) {
    let end = header.indexOf(";", start);
    if (end < 0) end = header.length;
    const eq = header.indexOf("=", start);
    if (eq >= 0 && eq < end) {
      const cookieName = header.slice(start, eq).trim();
      if (cookieName.length === name.length && cookieName.toLowerCase() === lower) {
        if (cookieName !== name || found !== undefined) return { status: "ambiguous" };
        let value = header.slice(eq + 1, end).trim();
        if (value.length >= 2 && value.startsWith('"') && value.endsWith('"'))
          value = value.slice(1, -1);
        found = value;
      }
    }
    start = end + 1;
  }
  return found === undefined ? { status: "absent" } : { status: "found", value: found };
}
