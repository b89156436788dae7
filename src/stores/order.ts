import type { StoredSession } from "./types.js";

/** The order the contract lists a user's sessions in: oldest first, a tie broken by id. */
export const byAge = (a: StoredSession, b: StoredSession): number =>
  a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1);
