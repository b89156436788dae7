import { configError } from "../errors.js";

type DurationUnit = "ms" | "s" | "m" | "h" | "d";

/**
 * A duration: milliseconds as a number, or a string of a positive number and a unit, `ms`,
 * `s`, `m` (minutes), `h` or `d`: `"500ms"`, `"30s"`, `"30m"`, `"1.5h"`, `"7d"`.
 *
 * Any `string` compiles, so that a value read from the environment (`process.env.X`, typed
 * `string`) can be passed as it is; it is checked when the manager is created, and one that
 * does not parse throws `CONFIG_INVALID` naming the option. What parses besides the forms
 * above: whitespace around the value and between the number and its unit (`" 30m\n"`,
 * `"30 m"`). What does not: a number without a unit (`"1800"`: seconds or milliseconds?),
 * upper-case units (`"30M"` reads as months elsewhere), exponents, signs, zero, and words
 * (`"30min"`, `"1 hour"`). The literal forms stay in the type for editors' completions.
 */
export type Duration = number | `${number}${DurationUnit}` | (string & {});

const UNIT_MS: Record<DurationUnit, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};
// `\s*` between number and unit: "30 m" is what a person writes in a .env file.
const PATTERN = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)$/;

/**
 * Parses a duration; returns `null` for anything that is not a positive finite duration.
 *
 * @example
 * ```ts
 * import { tryParseDuration } from "sessionkit";
 *
 * tryParseDuration("1.5h"); // 5_400_000
 * tryParseDuration("30 m"); // 1_800_000
 * tryParseDuration("soon"); // null
 * ```
 */
export function tryParseDuration(value: unknown): number | null {
  if (typeof value === "number") {
    return Number.isFinite(value) && value > 0 ? value : null;
  }
  if (typeof value !== "string") return null;
  const match = PATTERN.exec(value.trim());
  if (!match) return null;
  const amount = Number(match[1]);
  const unit = UNIT_MS[match[2] as DurationUnit];
  const ms = Math.round(amount * unit);
  // "0.0001ms" rounds to nothing: no more a positive duration than "0s" is.
  if (!Number.isFinite(ms) || ms <= 0) return null;
  return ms;
}

/**
 * Parses a duration from configuration; throws `CONFIG_INVALID` naming the option otherwise.
 *
 * @example
 * ```ts
 * import { parseDuration } from "sessionkit";
 *
 * // Throws SessionError CONFIG_INVALID naming SESSION_IDLE for "thirty minutes".
 * const idleMs = parseDuration(process.env.SESSION_IDLE ?? "30m", "SESSION_IDLE");
 * ```
 */
export function parseDuration(value: unknown, name: string): number {
  const ms = tryParseDuration(value);
  if (ms === null) {
    // The value is quoted: an environment string's stray characters show up in the message.
    const given = typeof value === "string" ? JSON.stringify(value.slice(0, 40)) : String(value);
    throw configError(
      `${name}: ${given} is not a positive duration such as "30m" (units ms, s, m, h, d) or a number of ms`,
    );
  }
  return ms;
}
