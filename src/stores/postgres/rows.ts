import { rowToSession, type SessionRow, sessionToRow } from "../rows.js";
import type { StoredSession } from "../types.js";

/** A row as `pg` returns it: jsonb arrives parsed. */
export type Row = SessionRow<StoredSession["data"]>;

export const fromRow = (row: Row): StoredSession => rowToSession(row, (data) => data);

/**
 * The INSERT of a session into `table`: columns, placeholders and values all come from the one
 * row mapping, so that no value can land in another field's column.
 */
export function insertSession(table: string, record: StoredSession) {
  // The data goes as JSON text, as `update` sends it, and the server casts it to jsonb.
  const entries = Object.entries(sessionToRow(record, (data) => JSON.stringify(data)));
  const columns = entries.map(([column]) => column).join(", ");
  const placeholders = entries.map((_, i) => `$${i + 1}`).join(", ");
  return {
    text: `INSERT INTO ${table} (${columns}) VALUES (${placeholders})`,
    values: entries.map(([, value]) => value),
  };
}
