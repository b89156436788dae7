import type { JsonObject, StoredSession, StrategyName } from "../types.js";

/**
 * A record as one compact JSON array (no field names: about half the bytes of an object), data
 * kept as a JSON string so that scripts never re-encode it. Order matters: see `scripts.ts`.
 */
type Packed = [
  string,
  string,
  StrategyName,
  string | null,
  string | null,
  number | null,
  string | null,
  number,
  number,
  number,
  number,
  number,
  number,
  string | null,
  string | null,
  string,
  number,
];

export function pack(r: StoredSession): string {
  const packed: Packed = [
    r.id,
    r.userId,
    r.strategy,
    r.secretHash,
    r.previousSecretHash,
    r.previousValidUntil,
    r.successor,
    r.createdAt,
    r.lastActiveAt,
    r.renewedAt,
    r.authTime,
    r.expiresAt,
    r.absoluteExpiresAt,
    r.ip,
    r.userAgent,
    JSON.stringify(r.data),
    r.version,
  ];
  return JSON.stringify(packed);
}

export function unpack(raw: string): StoredSession {
  const p = JSON.parse(raw) as Packed;
  return {
    id: p[0],
    userId: p[1],
    strategy: p[2],
    secretHash: p[3],
    previousSecretHash: p[4],
    previousValidUntil: p[5],
    successor: p[6],
    createdAt: p[7],
    lastActiveAt: p[8],
    renewedAt: p[9],
    authTime: p[10],
    expiresAt: p[11],
    absoluteExpiresAt: p[12],
    ip: p[13],
    userAgent: p[14],
    data: JSON.parse(p[15]) as JsonObject,
    version: p[16],
  };
}
