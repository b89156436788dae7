import type { JsonObject, StoredSession, StrategyName } from "../types.js";

/** A `sessionkit_sessions` row as better-sqlite3 returns it. */
export interface Row {
  id: string;
  user_id: string;
  strategy: StrategyName;
  secret_hash: string | null;
  previous_secret_hash: string | null;
  previous_valid_until: number | null;
  successor: string | null;
  created_at: number;
  last_active_at: number;
  renewed_at: number;
  auth_time: number;
  expires_at: number;
  absolute_expires_at: number;
  ip: string | null;
  user_agent: string | null;
  data: string;
  version: number;
}

export function toRow(record: StoredSession): Row {
  return {
    id: record.id,
    user_id: record.userId,
    strategy: record.strategy,
    secret_hash: record.secretHash,
    previous_secret_hash: record.previousSecretHash,
    previous_valid_until: record.previousValidUntil,
    successor: record.successor,
    created_at: record.createdAt,
    last_active_at: record.lastActiveAt,
    renewed_at: record.renewedAt,
    auth_time: record.authTime,
    expires_at: record.expiresAt,
    absolute_expires_at: record.absoluteExpiresAt,
    ip: record.ip,
    user_agent: record.userAgent,
    data: JSON.stringify(record.data),
    version: record.version,
  };
}

export function fromRow(row: Row): StoredSession {
  return {
    id: row.id,
    userId: row.user_id,
    strategy: row.strategy,
    secretHash: row.secret_hash,
    previousSecretHash: row.previous_secret_hash,
    previousValidUntil: row.previous_valid_until,
    successor: row.successor,
    createdAt: row.created_at,
    lastActiveAt: row.last_active_at,
    renewedAt: row.renewed_at,
    authTime: row.auth_time,
    expiresAt: row.expires_at,
    absoluteExpiresAt: row.absolute_expires_at,
    ip: row.ip,
    userAgent: row.user_agent,
    data: JSON.parse(row.data) as JsonObject,
    version: row.version,
  };
}
