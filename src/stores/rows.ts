import { changeOf } from "./change.js";
import type {
  JsonObject,
  RevocationReason,
  StoreChange,
  StoredSession,
  StrategyName,
} from "./types.js";

/**
 * A session as SQL stores keep it: one column per field, snake_case. `Data` is how the
 * backend holds the data column (SQLite: JSON text; PostgreSQL: jsonb, parsed by the driver).
 */
export interface SessionRow<Data> {
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
  data: Data;
  version: number;
  binding: string | null;
}

/** One entry of a SQL store's revocation log. */
export interface ChangeRow {
  seq: number | string;
  id: string;
  user_id: string;
  strategy: StrategyName;
  expires_at: number;
  reason: RevocationReason;
  origin: string;
}

export function rowToSession<Data>(
  row: SessionRow<Data>,
  readData: (data: Data) => JsonObject,
): StoredSession {
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
    data: readData(row.data),
    version: row.version,
    binding: row.binding,
  };
}

export function sessionToRow<Data>(
  record: StoredSession,
  writeData: (data: JsonObject) => Data,
): SessionRow<Data> {
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
    data: writeData(record.data),
    version: record.version,
    // A JavaScript caller written before the field existed leaves it out: unbound.
    binding: record.binding ?? null,
  };
}

/** The revocation a log entry records. */
export function changeOfLogRow(row: ChangeRow): StoreChange {
  const { id, user_id: userId, strategy, expires_at: expiresAt } = row;
  return changeOf({ id, userId, strategy, expiresAt }, row.reason);
}
