import { SessionError } from "../errors.js";
import type { JsonObject } from "../stores/types.js";
import { isSessionId } from "../tokens/opaque.js";
import { checkUserId } from "./guest.js";
import type { Internals } from "./internals.js";
import type { SessionManager } from "./manager.js";

type Inventory<Data extends JsonObject> = Pick<
  SessionManager<Data>,
  "get" | "update" | "list" | "revoke" | "revokeUser"
>;

/**
 * The store's sessions of this manager's strategy by id and by user, outside any request:
 * read, change, list and revoke them. A session of another strategy sharing the store is
 * none of these.
 */
export function createInventory<Data extends JsonObject>(ix: Internals<Data>): Inventory<Data> {
  const { o, cache, storeCall, toSession, revoked } = ix;
  const { store, clock } = o;

  return {
    async get(sessionId) {
      if (!isSessionId(sessionId)) return null;
      const record = await storeCall(() => store.get(sessionId, clock()));
      if (!record || record.strategy !== o.strategy) return null;
      const data = await ix.readData(record);
      return data === null ? null : toSession(record, "cookie", data);
    },

    async update(sessionId, patch) {
      // Optimistic concurrency: re-read and re-apply on conflict, so that two concurrent
      // updates of different fields both survive. A function patch must therefore be pure.
      for (let attempt = 0; attempt < 8; attempt++) {
        const now = clock();
        const record = await storeCall(() => store.get(sessionId, now));
        if (!record || record.strategy !== o.strategy) {
          throw new SessionError("SESSION_NOT_FOUND", "no live session with this id");
        }
        const current = record.data as Data;
        const next =
          typeof patch === "function" ? patch(structuredClone(current)) : { ...current, ...patch };
        const mark = cache?.mark();
        const result = await storeCall(() =>
          store.update(sessionId, { now, expectedVersion: record.version, data: next }),
        );
        if (result.status === "updated") {
          cache?.set(result.record, now, mark);
          return toSession(result.record, "cookie", next);
        }
        cache?.delete(sessionId);
        if (result.status === "missing")
          throw new SessionError("SESSION_NOT_FOUND", "no live session with this id");
      }
      throw new SessionError("UPDATE_CONFLICT", "session data kept changing; update abandoned");
    },

    async list(userId, opts = {}) {
      checkUserId(userId, "list");
      const records = await storeCall(() => store.listUser(userId, clock()));
      return records
        .filter((r) => r.strategy === o.strategy)
        .map((r) => ({
          id: r.id,
          createdAt: new Date(r.createdAt),
          lastActiveAt: new Date(r.lastActiveAt),
          expiresAt: new Date(r.expiresAt),
          ip: r.ip,
          userAgent: r.userAgent,
          current: r.id === opts.current,
          deviceBound: (r.binding ?? null) !== null,
        }));
    },

    async revoke(sessionId) {
      if (typeof sessionId !== "string" || !isSessionId(sessionId)) return false;
      const gone = await storeCall(() => store.delete(sessionId, "revoked"));
      if (gone) revoked(gone, "revoked");
      return gone !== null;
    },

    async revokeUser(userId, opts = {}) {
      checkUserId(userId, "revokeUser");
      const gone = await storeCall(() =>
        store.deleteUser(userId, {
          strategy: o.strategy,
          reason: "revoked-user",
          ...(opts.except === undefined ? {} : { except: opts.except }),
        }),
      );
      for (const record of gone) revoked(record, "revoked-user");
      return gone.map((r) => r.id);
    },
  };
}
