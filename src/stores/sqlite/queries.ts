import type BetterSqlite3 from "better-sqlite3";
import { LOG_BATCH } from "../poller.js";

/** The SQL of every statement of the SQLite store. */
const SQL = {
  // Columns named: a migrated table has them in the order they were added.
  insert: `INSERT INTO sessionkit_sessions (id, user_id, strategy, secret_hash, previous_secret_hash,
       previous_valid_until, successor, created_at, last_active_at, renewed_at, auth_time,
       expires_at, absolute_expires_at, ip, user_agent, data, version, binding)
       VALUES (@id, @user_id, @strategy, @secret_hash, @previous_secret_hash,
       @previous_valid_until, @successor, @created_at, @last_active_at, @renewed_at, @auth_time,
       @expires_at, @absolute_expires_at, @ip, @user_agent, @data, @version, @binding)`,
  get: "SELECT * FROM sessionkit_sessions WHERE id = ? AND expires_at > ?",
  touch: `UPDATE sessionkit_sessions SET last_active_at = max(last_active_at, @lastActiveAt),
       expires_at = min(max(expires_at, @expiresAt), absolute_expires_at)
       WHERE id = @id AND expires_at > @now`,
  update: `UPDATE sessionkit_sessions SET data = @data, version = version + 1
       WHERE id = @id AND expires_at > @now AND version = @expectedVersion RETURNING *`,
  rotate: `UPDATE sessionkit_sessions SET previous_secret_hash = @previousSecretHash,
       previous_valid_until = @graceUntil, secret_hash = @secretHash, successor = @successor,
       renewed_at = @now, expires_at = min(coalesce(@expiresAt, expires_at), absolute_expires_at)
       WHERE id = @id AND expires_at > @now AND secret_hash = @expectedSecretHash RETURNING *`,
  bind: `UPDATE sessionkit_sessions SET binding = @binding
       WHERE id = @id AND expires_at > @now AND binding IS NULL`,
  delete: "DELETE FROM sessionkit_sessions WHERE id = ? RETURNING *",
  logChange: `INSERT INTO sessionkit_changes (id, user_id, strategy, expires_at, reason, origin)
       VALUES (?, ?, ?, ?, ?, ?)`,
  changesAfter: `SELECT * FROM sessionkit_changes WHERE seq > ? ORDER BY seq LIMIT ${LOG_BATCH}`,
  firstLiveSeq:
    "SELECT coalesce(min(seq) - 1, (SELECT coalesce(max(seq), 0) FROM sessionkit_changes)) FROM sessionkit_changes WHERE expires_at > ?",
  pruneChanges: `DELETE FROM sessionkit_changes WHERE seq IN
       (SELECT seq FROM sessionkit_changes WHERE expires_at <= ? LIMIT ?)`,
  userAll: "SELECT * FROM sessionkit_sessions WHERE user_id = ? ORDER BY created_at, id",
  userLive:
    "SELECT * FROM sessionkit_sessions WHERE user_id = ? AND expires_at > ? ORDER BY created_at, id",
  expired: `DELETE FROM sessionkit_sessions WHERE id IN
       (SELECT id FROM sessionkit_sessions WHERE expires_at <= ? LIMIT ?) RETURNING *`,
};

/** Every statement of the SQLite store, prepared once per connection. */
export function prepareQueries(
  db: BetterSqlite3.Database,
): Record<keyof typeof SQL, BetterSqlite3.Statement> {
  const prepared = Object.fromEntries(
    Object.entries(SQL).map(([name, sql]) => [name, db.prepare(sql)]),
  ) as Record<keyof typeof SQL, BetterSqlite3.Statement>;
  prepared.firstLiveSeq.pluck(); // one value, not a row
  return prepared;
}
