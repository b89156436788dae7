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
  const lower = name.toLowerCase();
  let found: string | undefined;
  let count = 0;
  for (const [cookieName, value] of parseCookieHeader(header)) {
    if (cookieName.toLowerCase() !== lower) continue;
    count++;
    if (cookieName !== name) return { status: "ambiguous" };
    found = value;
  }
  if (count === 0 || found === undefined) return { status: "absent" };
  return count === 1 ? { status: "found", value: found } : { status: "ambiguous" };
}
