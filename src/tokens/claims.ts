/**
 * The payload of a verified token. Its signature says who wrote it, not that every claim has
 * the type this manager signs it with: a key shared with another issuer signs whatever that
 * issuer puts in. Claims are read through the functions below, never cast.
 */
export type Claims = Readonly<Record<string, unknown>>;

/**
 * A claim that is a finite number, or `undefined` when it is absent, of another type, or not
 * finite: JSON has no Infinity, but `JSON.parse` reads 1e309 as one, and no time is that.
 */
export function numberClaim(claims: Claims, name: string): number | undefined {
  const value = claims[name];
  return typeof value === "number" && Number.isFinite(value) ? value : undefined;
}

/** A claim that is a string, or `undefined` when it is absent or of another type. */
export function stringClaim(claims: Claims, name: string): string | undefined {
  const value = claims[name];
  return typeof value === "string" ? value : undefined;
}

/** A claim that is a JSON object (not an array, not `null`), or `undefined`. */
export function objectClaim(claims: Claims, name: string): Claims | undefined {
  const value: unknown = claims[name];
  if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined;
  return value as Claims;
}
