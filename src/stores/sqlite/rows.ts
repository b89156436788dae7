import { rowToSession, type SessionRow, sessionToRow } from "../rows.js";
import type { JsonObject, StoredSession } from "../types.js";

/** A `sessionkit_sessions` row as better-sqlite3 returns it: data is JSON text. */
export type Row = SessionRow<string>;

export const toRow = (record: StoredSession): Row =>
  sessionToRow(record, (data) => JSON.stringify(data));
export const fromRow = (row: Row): StoredSession =>
  rowToSession(row, (data) => JSON.parse(data) as JsonObject);
