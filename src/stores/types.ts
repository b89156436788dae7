// The types of the session store contract: records, changes, and `SessionStore` itself.

export type { JsonObject, JsonValue } from "../util/json.js";

import type { JsonObject } from "../util/json.js";

export type StrategyName = "id" | "jwt" | "hybrid";

export interface StoredSession {
  /** Public session id (base64url of 16 random bytes). */
  id: string;
  userId: string;
  strategy: StrategyName;
  /** SHA-256 of the current secret (opaque session token or refresh token); `null` for `jwt`. */
  secretHash: string | null;
  /**
   * The secrets replaced by rotations, as the manager wrote them (`RotateInput`): SHA-256 of
   * the one replaced by the last rotation, honoured until `previousValidUntil`, optionally
   * followed by short prefixes of older ones, each after `.` or `~` (hybrid refresh tokens,
   * to recognise their reuse: `core/strategies/retired.ts`). A store keeps it as it is.
   */
  previousSecretHash: string | null;
  previousValidUntil: number | null;
  /**
   * The current secret sealed with a key derived from the previous secret, so a caller that
   * lost the rotation race but holds the previous token receives the same successor.
   */
  successor: string | null;
  createdAt: number;
  lastActiveAt: number;
  /** When the current secret was issued. */
  renewedAt: number;
  authTime: number;
  /** Effective expiry: the sliding idle deadline, never past `absoluteExpiresAt`. */
  expiresAt: number;
  absoluteExpiresAt: number;
  ip: string | null;
  userAgent: string | null;
  data: JsonObject;
  /** Incremented by every `update`; `touch` and `rotate` leave it unchanged. */
  version: number;
  /**
   * The key the client proved possession of (DPoP, device-bound session credentials), as the
   * manager wrote it: a small JSON document (under 1 KiB) the store keeps as opaque text,
   * exactly as given. `null` while unbound. Set by `create` or, once, by `bind`; nothing
   * changes or clears it afterwards (`touch`, `rotate` and `update` keep it), because a
   * session that registered a key must never again be renewed without a proof from that key.
   */
  binding: string | null;
}

export interface CreateOptions {
  now: number;
  /** After inserting, evict this user's oldest sessions of the same strategy beyond the cap. */
  maxSessionsPerUser?: number;
}

export interface RotateInput {
  now: number;
  /** Compare-and-swap: the rotation applies only if this is still the current secret. */
  expectedSecretHash: string;
  /**
   * The record's new `previousSecretHash`: `expectedSecretHash`, possibly followed by older
   * ones. Computed by the manager from the record it read; the compare-and-swap on
   * `expectedSecretHash` guarantees nothing rotated in between.
   */
  previousSecretHash: string;
  secretHash: string;
  successor: string;
  /** Until when the replaced secret stays valid. */
  graceUntil: number;
  /** New effective expiry, if the rotation also slides the session. */
  expiresAt?: number;
}

export type UpdateResult =
  | { status: "updated"; record: StoredSession }
  | { status: "conflict"; record: StoredSession }
  | { status: "missing" };

export type RevocationReason = "logout" | "revoked" | "revoked-user" | "evicted" | "reuse";

/** What the change feed announces to every instance that subscribed. */
export type StoreChange = {
  type: "revoked";
  id: string;
  userId: string;
  strategy: StrategyName;
  expiresAt: number;
  reason: RevocationReason;
};

/**
 * The store contract. Every backend (memory, SQLite, Redis, PostgreSQL) implements it and
 * passes the conformance suite in `sessionkit/testing`.
 *
 * Conventions for all methods:
 * - Times are milliseconds since the epoch, always passed in by the caller (the manager's
 *   injectable clock); a store never reads the wall clock to decide expiry.
 * - A record whose `expiresAt` is at or before `now` is expired: it is never returned, and
 *   behaves as absent for every operation that takes `now`.
 * - Backend failures (connection refused, timeouts, locked database) reject with a
 *   `SessionError` whose code is `STORE_UNAVAILABLE`; the store recovers on its own when the
 *   backend comes back, without being recreated.
 * - Records are returned as copies: mutating a returned record never changes the store.
 *
 * @example
 * ```ts
 * // A vitest test file: a store of your own proves itself against the contract.
 * import type { SessionStore } from "sessionkit";
 * import { memoryStore } from "sessionkit/stores/memory";
 * import { runStoreConformance } from "sessionkit/testing";
 *
 * const myStore = (): SessionStore => memoryStore(); // your store here
 * runStoreConformance("my-store", { create: myStore });
 * ```
 */
export interface SessionStore {
  /** Short backend name for logs and errors (`"memory"`, `"sqlite"`, ...). */
  readonly name: string;

  /**
   * Optional: the id for a new session of this user. A store that places data by user (Redis
   * Cluster hash tags) embeds what it needs here; the rest must stay random enough that ids
   * never collide (at least 96 random bits). Without it, ids are 16 random bytes.
   */
  newSessionId?(userId: string): string;

  /**
   * Inserts a new record (the id must be new) and, in the same atomic step, evicts the user's
   * oldest other sessions of the same strategy until at most `maxSessionsPerUser` remain, the
   * new one included. The new record is never evicted by its own creation, whatever its
   * `createdAt` ties with. Returns what it evicted.
   */
  create(record: StoredSession, options: CreateOptions): Promise<{ evicted: StoredSession[] }>;

  /** The live record, or `null` if absent or expired. */
  get(id: string, now: number): Promise<StoredSession | null>;

  /**
   * Records activity: sets `lastActiveAt` and the sliding `expiresAt`. Not version-checked
   * (concurrent touches converge on the latest values); returns `false` if the record is gone.
   */
  touch(
    id: string,
    input: { now: number; lastActiveAt: number; expiresAt: number },
  ): Promise<boolean>;

  /**
   * Replaces `data` only if `version` still equals `expectedVersion` (one atomic step).
   * On `conflict` the current record is returned so that the caller can merge and retry.
   */
  update(
    id: string,
    input: { now: number; expectedVersion: number; data: JsonObject },
  ): Promise<UpdateResult>;

  /**
   * Atomically replaces the secret if `expectedSecretHash` is still current. Exactly one of
   * any number of concurrent callers with the same expected hash gets the record back; the
   * others get `null` and read the record again to find the successor.
   */
  rotate(id: string, input: RotateInput): Promise<StoredSession | null>;

  /**
   * Sets the `binding` of the live record `id` if it has none, in one atomic step: `"bound"`.
   * A live record that is bound already is left as it is, whatever it holds, even the same
   * value: `"conflict"`. Absent or expired: `"missing"`. Of any number of concurrent calls on
   * one record, exactly one answers `"bound"`, and the record holds its value.
   *
   * Optional, so that stores written before it keep compiling: the manager refuses to enable
   * device binding (DPoP, DBSC) on a store without it. A store that implements it must also
   * keep the `binding` given to `create`, and return it with the record from every read.
   */
  bind?(id: string, binding: string, now: number): Promise<"bound" | "conflict" | "missing">;

  /** Deletes one record; returns it if it existed (expired or not). Announced on the feed. */
  delete(id: string, reason: RevocationReason): Promise<StoredSession | null>;

  /**
   * Deletes every session of a user (optionally of one strategy, optionally sparing one id)
   * in one atomic step. Returns what it deleted. Each deletion is announced on the feed.
   */
  deleteUser(
    userId: string,
    options: { strategy?: StrategyName; except?: string; reason: RevocationReason },
  ): Promise<StoredSession[]>;

  /** The user's live sessions, oldest first. Costs O(that user's sessions), never a full scan. */
  listUser(userId: string, now: number): Promise<StoredSession[]>;

  /**
   * Deletes at most `limit` expired records through the expiry index (never a full scan) and
   * returns them, so that the caller can report expiries. Not announced on the feed. A backend
   * that expires records by itself on the wall clock (Redis TTL) returns `[]`: its records are
   * gone without being asked, and no `onExpire` event is reported for them.
   */
  deleteExpired(now: number, limit: number): Promise<StoredSession[]>;

  /**
   * Subscribes to revocations made through any instance sharing this store (for memory: this
   * process). Returns the unsubscribe function.
   *
   * Every subscriber, the first or a later one, in whatever order, also hears each revocation
   * the store knows that is still inside its window: until the record's `expiresAt` plus
   * `REVOCATION_MARGIN_MS` (5 minutes, past any verifier's clock skew) on the wall clock. A
   * shared backend keeps its revocation log at least that long, so that an instance started
   * (or reconnected) later learns what was said while it was away; deliveries arrive at least
   * once whatever the order in which concurrent writers commit (a repeat is harmless: the
   * revocation sets keep the latest expiry).
   */
  subscribe(listener: (change: StoreChange) => void): () => void;

  /**
   * Optional: from when (wall-clock milliseconds) this store's feed knows every revocation. A
   * store that forgets its revocations when the process ends (memory) answers when it was
   * created: a signed token issued before then may have been revoked unheard, so the `jwt`
   * and `hybrid` verifiers refuse tokens whose `iat` is earlier. A store whose log outlives
   * the process (SQLite, PostgreSQL, Redis) leaves it out.
   */
  revocationsKnownSince?(): number;

  /**
   * How many milliseconds the change feed may be behind: the time since it last confirmed it
   * is current (0 for an in-process feed). Verifiers that rely on the feed fail closed past
   * their `maxLag`. From `subscribe` until the replay of the revocations it promises has been
   * delivered, the feed is not current: a store that replays asynchronously answers Infinity
   * meanwhile. Optional: a store without it is treated as never lagging, so it must deliver
   * its replay within `subscribe` itself (memory).
   */
  feedLag?(): number;

  /** Resolves when the backend answers; rejects with `STORE_UNAVAILABLE` otherwise. */
  ping(): Promise<void>;

  close(): Promise<void>;
}
