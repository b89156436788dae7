import type { JsonObject, StoredSession, StrategyName } from "../types.js";
import { decodeUserAgent, encodeUserAgent } from "./user-agent.js";

/**
 * A record as one compact JSON array, because Redis memory per session is what a deployment
 * pays for: no field names, no id (the key holds it), `0` for an absent value, the strategy as
 * one letter, `createdAt` counted from 2025 and later times as offsets from it (7 digits
 * instead of 13), the user agent compressed (`user-agent.ts`), and data kept as a JSON string
 * so that scripts never re-encode it. Positions are shared with the Lua scripts (`scripts.ts`,
 * 1-based there), and so are `EPOCH` and the strategy letters.
 *
 * The binding, added later, is the last element and is left out while it is `null`: records
 * written before it existed read as unbound, and an unbound session costs no byte more.
 */
export const EPOCH = 1_735_689_600_000; // 2025-01-01T00:00:00Z

const CODE = { id: "i", jwt: "j", hybrid: "h" } as const;
type StrategyCode = (typeof CODE)[StrategyName];
const STRATEGY: Record<StrategyCode, StrategyName> = { i: "id", j: "jwt", h: "hybrid" };

/** The letter a record holds for a strategy (scripts compare it). */
export const strategyCode = (strategy: StrategyName): StrategyCode => CODE[strategy];
type Packed = [
  userId: string,
  strategy: StrategyCode,
  secretHash: string | 0,
  previousSecretHash: string | 0,
  previousValidUntil: number,
  successor: string | 0,
  createdAt: number,
  lastActiveAt: number,
  renewedAt: number,
  authTime: number,
  expiresAt: number,
  absoluteExpiresAt: number,
  ip: string | 0,
  userAgent: string | 0,
  data: string,
  version: number,
  binding?: string,
];

export function pack(r: StoredSession): string {
  const c = r.createdAt;
  const packed: Packed = [
    r.userId,
    CODE[r.strategy],
    r.secretHash ?? 0,
    r.previousSecretHash ?? 0,
    r.previousValidUntil === null ? 0 : r.previousValidUntil - c,
    r.successor ?? 0,
    c - EPOCH,
    r.lastActiveAt - c,
    r.renewedAt - c,
    r.authTime - c,
    r.expiresAt - c,
    r.absoluteExpiresAt - c,
    r.ip ?? 0,
    r.userAgent === null ? 0 : encodeUserAgent(r.userAgent),
    JSON.stringify(r.data),
    r.version,
  ];
  // A JavaScript caller written before the field existed leaves it out: unbound.
  if (typeof r.binding === "string") packed.push(r.binding);
  return JSON.stringify(packed);
}

const orNull = <T>(value: T | 0): T | null => (value === 0 ? null : value);

export function unpack(id: string, raw: string): StoredSession {
  const p = JSON.parse(raw) as Packed;
  const c = EPOCH + p[6];
  const previousSecretHash = orNull(p[3]);
  const ua = orNull(p[13]);
  return {
    id,
    userId: p[0],
    strategy: STRATEGY[p[1]],
    secretHash: orNull(p[2]),
    previousSecretHash,
    previousValidUntil: previousSecretHash === null ? null : c + p[4],
    successor: orNull(p[5]),
    createdAt: c,
    lastActiveAt: c + p[7],
    renewedAt: c + p[8],
    authTime: c + p[9],
    expiresAt: c + p[10],
    absoluteExpiresAt: c + p[11],
    ip: orNull(p[12]),
    userAgent: ua === null ? null : decodeUserAgent(ua),
    data: JSON.parse(p[14]) as JsonObject,
    version: p[15],
    binding: typeof p[16] === "string" ? p[16] : null,
  };
}

/** The user of a stored record, without decoding the rest of it. */
export const userIdOf = (raw: string): string => (JSON.parse(raw) as Packed)[0];

/** Scripts that return several records return `[id, json, id, json, ...]`. */
export function unpackPairs(flat: string[]): StoredSession[] {
  const out: StoredSession[] = [];
  for (let i = 0; i + 1 < flat.length; i += 2)
    out.push(unpack(flat[i] as string, flat[i + 1] as string));
  return out;
}
