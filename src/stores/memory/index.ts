import { changeOf } from "../change.js";
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
import { SessionTable } from "./table.js";

export type { SessionStore } from "../types.js";

/**
 * In-process store for tests and single-process apps. Every method runs to completion without
 * awaiting, so each one is atomic with respect to the others by JavaScript's run-to-completion.
 * Records live in a compact table (`table.ts`, about 300 bytes of heap a session) whose slots
 * are valid until the next removal: across removals, records are found again by id.
 *
 * @example
 * ```ts
 * import { createSessionManager } from "sessionkit";
 * import { memoryStore } from "sessionkit/stores/memory";
 *
 * const sessions = createSessionManager({
 *   strategy: "id",
 *   store: memoryStore(), // one process; its sessions end with it
 *   csrf: { origins: ["https://app.example"] },
 * });
 * ```
 */
export function memoryStore(): SessionStore {
  const table = new SessionTable();
  const feed = new LocalFeed();
  const expiries = new ExpiryHeap();
  // Its revocations die with the process: only tokens issued since can be checked against them.
  const startedAt = Date.now();

  /** The slot of the live record `id`, or -1. */
  const live = (id: string, now: number): number => {
    const slot = table.slotOf(id);
    return slot >= 0 && table.expiresAt(slot) > now ? slot : -1;
  };
  const remove = (slot: number, reason: RevocationReason | null) => {
    const revoked = {
      id: table.id(slot),
      userId: table.userId(slot),
      strategy: table.strategy(slot),
      expiresAt: table.expiresAt(slot),
    };
    table.remove(slot);
    if (reason) feed.emit(changeOf(revoked, reason));
  };
  /** Removes the record `id` if it is still there (a listener may have deleted it). */
  const removeId = (id: string, reason: RevocationReason | null) => {
    const slot = table.slotOf(id);
    if (slot >= 0) remove(slot, reason);
  };
  /** The user's slots (of one strategy, if given), oldest first. */
  const userSlots = (userId: string, strategy?: StrategyName) =>
    table
      .userSlots(userId)
      .filter((s) => strategy === undefined || table.strategy(s) === strategy)
      .sort(
        (a, b) => table.createdAt(a) - table.createdAt(b) || (table.id(a) < table.id(b) ? -1 : 1),
      );

  return {
    name: "memory",

    async create(record: StoredSession, options: CreateOptions) {
      if (table.slotOf(record.id) >= 0) throw new Error(`session id collision: ${record.id}`);
      table.insert(record);
      expiries.push(record.expiresAt, record.id);
      const evicted: StoredSession[] = [];
      const cap = options.maxSessionsPerUser;
      if (cap !== undefined) {
        const now = options.now;
        // The new record is never a candidate: on a createdAt tie it would otherwise be
        // ordered by its random id and could be evicted by its own creation.
        const others = userSlots(record.userId, record.strategy).filter(
          (s) => table.id(s) !== record.id,
        );
        const expired = others.filter((s) => table.expiresAt(s) <= now).map((s) => table.id(s));
        const alive = others.filter((s) => table.expiresAt(s) > now).map((s) => table.id(s));
        for (const id of expired) removeId(id, null);
        for (const id of alive.slice(0, Math.max(0, alive.length - (cap - 1)))) {
          const slot = table.slotOf(id);
          if (slot < 0) continue;
          evicted.push(table.read(slot));
          remove(slot, "evicted");
        }
      }
      return { evicted };
    },

    async get(id, now) {
      const slot = live(id, now);
      return slot >= 0 ? table.read(slot) : null;
    },

    async touch(id, input) {
      const slot = live(id, input.now);
      if (slot < 0) return false;
      table.setLastActiveAt(slot, Math.max(table.lastActiveAt(slot), input.lastActiveAt));
      const current = table.expiresAt(slot);
      const expiresAt = Math.min(Math.max(current, input.expiresAt), table.absoluteExpiresAt(slot));
      // The record's own id string: the caller's copy (from a cookie) need not stay alive.
      if (expiresAt !== current) expiries.push(expiresAt, table.id(slot));
      table.setExpiresAt(slot, expiresAt);
      return true;
    },

    async update(id, input): Promise<UpdateResult> {
      const slot = live(id, input.now);
      if (slot < 0) return { status: "missing" };
      if (table.version(slot) !== input.expectedVersion)
        return { status: "conflict", record: table.read(slot) };
      table.update(slot, input.data);
      return { status: "updated", record: table.read(slot) };
    },

    async rotate(id, input: RotateInput) {
      const slot = live(id, input.now);
      if (slot < 0 || table.secretHash(slot) !== input.expectedSecretHash) return null;
      table.rotate(slot, input);
      if (input.expiresAt !== undefined) {
        const expiresAt = Math.min(input.expiresAt, table.absoluteExpiresAt(slot));
        table.setExpiresAt(slot, expiresAt);
        expiries.push(expiresAt, table.id(slot));
      }
      return table.read(slot);
    },

    async bind(id, binding, now) {
      const slot = live(id, now);
      if (slot < 0) return "missing";
      return table.bind(slot, binding) ? "bound" : "conflict";
    },

    async delete(id, reason) {
      const slot = table.slotOf(id);
      if (slot < 0) return null;
      const record = table.read(slot);
      remove(slot, reason);
      return record;
    },

    async deleteUser(userId, options) {
      const doomed = userSlots(userId, options.strategy)
        .filter((s) => table.id(s) !== options.except)
        .map((s) => table.read(s));
      for (const record of doomed) removeId(record.id, options.reason);
      return doomed;
    },

    async listUser(userId, now) {
      return userSlots(userId)
        .filter((s) => table.expiresAt(s) > now)
        .map((s) => table.read(s));
    },

    async deleteExpired(now, limit) {
      const deleted: StoredSession[] = [];
      while (deleted.length < limit && expiries.size > 0) {
        const at = expiries.nextAt;
        if (at > now) break;
        const slot = table.slotOf(expiries.pop());
        // Stale entry: the record is gone or has slid to a later expiry since it was pushed.
        if (slot < 0 || table.expiresAt(slot) !== at) continue;
        deleted.push(table.read(slot));
        remove(slot, null);
      }
      return deleted;
    },

    subscribe: (listener) => feed.subscribe(listener),
    revocationsKnownSince: () => startedAt,
    async ping() {},
    async close() {},
  };
}
