import { cloneJson } from "../../util/json.js";
import { LocalFeed } from "../feed.js";
import type {
  CreateOptions,
  RevocationReason,
  RotateInput,
  SessionStore,
  StoredSession,
  StrategyName,
  UpdateResult,
} from "../types.js";
import { ExpiryHeap } from "./expiry-heap.js";

export type { SessionStore } from "../types.js";

/**
 * In-process store for tests and single-process apps. Every method runs to completion without
 * awaiting, so each one is atomic with respect to the others by JavaScript's run-to-completion.
 */
export function memoryStore(): SessionStore {
  const records = new Map<string, StoredSession>();
  const byUser = new Map<string, Set<string>>();
  const feed = new LocalFeed();
  const expiries = new ExpiryHeap();
  // Its revocations die with the process: only tokens issued since can be checked against them.
  const startedAt = Date.now();

  const live = (id: string, now: number) => {
    const record = records.get(id);
    return record && record.expiresAt > now ? record : undefined;
  };
  const remove = (record: StoredSession, reason: RevocationReason | null) => {
    records.delete(record.id);
    const ids = byUser.get(record.userId);
    ids?.delete(record.id);
    if (ids?.size === 0) byUser.delete(record.userId);
    if (reason) {
      const { id, userId, strategy, expiresAt } = record;
      feed.emit({ type: "revoked", id, userId, strategy, expiresAt, reason });
    }
  };
  const userRecords = (userId: string, strategy?: StrategyName) => {
    const out: StoredSession[] = [];
    for (const id of byUser.get(userId) ?? []) {
      const record = records.get(id);
      if (record && (strategy === undefined || record.strategy === strategy)) out.push(record);
    }
    return out.sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1));
  };
  const copy = (record: StoredSession): StoredSession => ({
    ...record,
    data: cloneJson(record.data),
  });

  return {
    name: "memory",

    async create(record: StoredSession, options: CreateOptions) {
      if (records.has(record.id)) throw new Error(`session id collision: ${record.id}`);
      records.set(record.id, copy(record));
      expiries.push(record.expiresAt, record.id);
      const ids = byUser.get(record.userId) ?? new Set<string>();
      byUser.set(record.userId, ids);
      ids.add(record.id);
      const evicted: StoredSession[] = [];
      const cap = options.maxSessionsPerUser;
      if (cap !== undefined) {
        const mine = userRecords(record.userId, record.strategy);
        for (const old of mine.filter((r) => r.expiresAt <= options.now)) remove(old, null);
        const alive = mine.filter((r) => r.expiresAt > options.now);
        for (const old of alive.slice(0, Math.max(0, alive.length - cap))) {
          remove(old, "evicted");
          evicted.push(copy(old));
        }
      }
      return { evicted };
    },

    async get(id, now) {
      const record = live(id, now);
      return record ? copy(record) : null;
    },

    async touch(id, input) {
      const record = live(id, input.now);
      if (!record) return false;
      record.lastActiveAt = Math.max(record.lastActiveAt, input.lastActiveAt);
      const expiresAt = Math.min(
        Math.max(record.expiresAt, input.expiresAt),
        record.absoluteExpiresAt,
      );
      if (expiresAt !== record.expiresAt) expiries.push(expiresAt, id);
      record.expiresAt = expiresAt;
      return true;
    },

    async update(id, input): Promise<UpdateResult> {
      const record = live(id, input.now);
      if (!record) return { status: "missing" };
      if (record.version !== input.expectedVersion)
        return { status: "conflict", record: copy(record) };
      record.data = cloneJson(input.data);
      record.version++;
      return { status: "updated", record: copy(record) };
    },

    async rotate(id, input: RotateInput) {
      const record = live(id, input.now);
      if (!record || record.secretHash !== input.expectedSecretHash) return null;
      record.previousSecretHash = input.previousSecretHash;
      record.previousValidUntil = input.graceUntil;
      record.secretHash = input.secretHash;
      record.successor = input.successor;
      record.renewedAt = input.now;
      if (input.expiresAt !== undefined) {
        record.expiresAt = Math.min(input.expiresAt, record.absoluteExpiresAt);
        expiries.push(record.expiresAt, id);
      }
      return copy(record);
    },

    async delete(id, reason) {
      const record = records.get(id);
      if (!record) return null;
      remove(record, reason);
      return copy(record);
    },

    async deleteUser(userId, options) {
      const doomed = userRecords(userId, options.strategy).filter((r) => r.id !== options.except);
      for (const record of doomed) remove(record, options.reason);
      return doomed.map(copy);
    },

    async listUser(userId, now) {
      return userRecords(userId)
        .filter((r) => r.expiresAt > now)
        .map(copy);
    },

    async deleteExpired(now, limit) {
      const deleted: StoredSession[] = [];
      while (deleted.length < limit) {
        const due = expiries.popDue(now);
        if (!due) break;
        const record = records.get(due.id);
        // Stale entry: the record is gone or has slid to a later expiry since it was pushed.
        if (!record || record.expiresAt !== due.expiresAt) continue;
        remove(record, null);
        deleted.push(record);
      }
      return deleted;
    },

    subscribe: (listener) => feed.subscribe(listener),
    revocationsKnownSince: () => startedAt,
    async ping() {},
    async close() {},
  };
}
