import { configError } from "../errors.js";

/** A duration as milliseconds or a string such as `"500ms"`, `"30s"`, `"30m"`, `"12h"`, `"7d"`. */
export type Duration = number | `${number}${"ms" | "s" | "m" | "h" | "d"}`;

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const PATTERN = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;

/** Parses a duration; returns `null` for anything that is not a positive finite duration. */
export function tryParseDuration(value: unknown): number | null {
  if (typeof value === "number") {
    return Number.isFinite(value) && value > 0 ? value : null;
  }
  if (typeof value !== "string") return null;
  const match = PATTERN.exec(value.trim());
  if (!match) return null;
  const amount = Number(match[1]);
  const unit = UNIT_MS[match[2] ?? ""];
  if (unit === undefined || !Number.isFinite(amount) || amount <= 0) return null;
  return Math.round(amount * unit);
}

/** Parses a duration from configuration; throws `CONFIG_INVALID` naming the option otherwise. */
export function parseDuration(value: unknown, name: string): number {
  const ms = tryParseDuration(value);
  if (ms === null) {
    throw configError(`${name} must be a positive duration such as "30m" or a number of ms`);
  }
  return ms;
}
