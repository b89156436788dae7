import { cloneJson } from "../../util/json.js";
import type { JsonObject, RotateInput, StoredSession, StrategyName } from "../types.js";
import { flatten, Interner } from "./compact.js";

/*
 * The memory store's records, column by column instead of one object per session, because
 * its heap per session is what a deployment pays for: a record lives in a numbered slot, its
 * times unboxed in an array of doubles and its other fields in an array of cells, both
 * allocated a chunk of slots at a time. No object, no boxed number and no collection per
 * session: each user's sessions are a list linked through their slots, recurring strings are
 * shared (user agents, addresses, and the user id among a user's sessions), and an empty
 * `data` is one shared object. What `read` returns is a fresh record equal to what was
 * written, field for field.
 *
 * Bindings (the key a client proved possession of) live in a map by session id instead of a
 * cell: an unbound session, the common case, pays nothing for them, and an id does not change
 * when its record moves to another slot.
 *
 * Slots stay dense: removing a record moves the last one into its slot, and chunks no longer
 * needed are released, so that the table shrinks back after a peak. A slot number is therefore
 * valid only until the next removal; across one, look the record up again by its id.
 */

const SHIFT = 8;
const CHUNK = 1 << SHIFT; // slots per chunk
const MASK = CHUNK - 1;

// A slot's cells.
const ID = 0;
const USER = 1;
const STRATEGY = 2;
const SECRET = 3;
const PREVIOUS = 4;
const PREVIOUS_UNTIL = 5; // rare (rotated sessions only): boxed where it is a number
const SUCCESSOR = 6;
const IP = 7;
const AGENT = 8;
const DATA = 9;
const VERSION = 10;
const PREV = 11; // the user's sessions, a doubly linked list of slots (-1 ends it)
const NEXT = 12;
const CELLS = 13;

// A slot's times.
const CREATED = 0;
const LAST_ACTIVE = 1;
const RENEWED = 2;
const AUTH = 3;
const EXPIRES = 4;
const ABSOLUTE = 5;
const TIMES = 6;

class Chunk {
  readonly cells: unknown[] = new Array(CHUNK * CELLS).fill(null);
  // Filled with a fraction, so that the array holds unboxed doubles from the start.
  readonly times: number[] = new Array(CHUNK * TIMES).fill(0.5);
}

/** Every record whose `data` is empty shares it; `read` hands out a fresh copy. */
const EMPTY: JsonObject = Object.freeze({});

const compactData = (data: JsonObject): JsonObject =>
  typeof data === "object" &&
  data !== null &&
  !Array.isArray(data) &&
  Object.keys(data).length === 0
    ? EMPTY
    : cloneJson(data);

/** The module's own string for a known strategy, so that records share it. */
const strategyName = (s: StrategyName): StrategyName =>
  s === "id" ? "id" : s === "jwt" ? "jwt" : s === "hybrid" ? "hybrid" : s;

export class SessionTable {
  readonly #chunks: Chunk[] = [];
  /** Slots in use: 0 to `#used - 1`. */
  #used = 0;
  /** Session id → slot. */
  readonly #slots = new Map<string, number>();
  /** User id → the slot of the user's latest session, first of its list. */
  readonly #users = new Map<string, number>();
  readonly #agents = new Interner(4096, 512);
  readonly #ips = new Interner(4096, 64);
  /** Session id → binding, for bound sessions only. */
  readonly #bindings = new Map<string, string>();

  /** The slot of the record `id`, or -1. */
  slotOf(id: string): number {
    return this.#slots.get(id) ?? -1;
  }

  /** Stores a copy of `record` (whose id must be new); returns its slot. */
  insert(record: StoredSession): number {
    // What may throw (cloning data) before anything changes.
    const data = compactData(record.data);
    const secret = record.secretHash;
    const first = this.#users.get(record.userId) ?? -1;
    // The user's sessions share one copy of its id.
    const userId = first >= 0 ? this.userId(first) : record.userId;
    const slot = this.#used++;
    if (slot >> SHIFT === this.#chunks.length) this.#chunks.push(new Chunk());
    const { cells, times } = this.#chunk(slot);
    const c = (slot & MASK) * CELLS;
    cells[c + ID] = record.id;
    cells[c + USER] = userId;
    cells[c + STRATEGY] = strategyName(record.strategy);
    cells[c + SECRET] = secret;
    cells[c + PREVIOUS] = record.previousSecretHash;
    cells[c + PREVIOUS_UNTIL] = record.previousValidUntil;
    cells[c + SUCCESSOR] = record.successor;
    cells[c + IP] = this.#ips.intern(record.ip);
    cells[c + AGENT] = this.#agents.intern(record.userAgent);
    cells[c + DATA] = data;
    cells[c + VERSION] = record.version;
    cells[c + PREV] = -1;
    cells[c + NEXT] = first;
    const t = (slot & MASK) * TIMES;
    times[t + CREATED] = record.createdAt;
    times[t + LAST_ACTIVE] = record.lastActiveAt;
    times[t + RENEWED] = record.renewedAt;
    times[t + AUTH] = record.authTime;
    times[t + EXPIRES] = record.expiresAt;
    times[t + ABSOLUTE] = record.absoluteExpiresAt;
    if (first >= 0) this.#setCell(first, PREV, slot);
    this.#users.set(userId, slot);
    this.#slots.set(record.id, slot);
    // A JavaScript caller written before the field existed leaves it out: unbound.
    if (typeof record.binding === "string") this.#bindings.set(record.id, flatten(record.binding));
    return slot;
  }

  /** Deletes the record in `slot`; the last slot's record moves into it. */
  remove(slot: number): void {
    const userId = this.userId(slot);
    this.#slots.delete(this.id(slot));
    this.#bindings.delete(this.id(slot));
    const prev = this.#cell(slot, PREV) as number;
    const next = this.#cell(slot, NEXT) as number;
    if (next >= 0) this.#setCell(next, PREV, prev);
    if (prev >= 0) this.#setCell(prev, NEXT, next);
    else if (next >= 0) this.#users.set(userId, next);
    else this.#users.delete(userId);
    const last = --this.#used;
    if (slot !== last) this.#move(last, slot);
    const { cells } = this.#chunk(last);
    const c = (last & MASK) * CELLS;
    cells.fill(null, c, c + CELLS); // nothing kept alive by a free slot
    // A spare chunk past the one the next record goes to: no churn at a chunk's boundary.
    while (this.#chunks.length > (this.#used >> SHIFT) + 2) this.#chunks.pop();
  }

  /** The slots of a user's sessions, in the order they were inserted. */
  userSlots(userId: string): number[] {
    const out: number[] = [];
    for (
      let slot = this.#users.get(userId) ?? -1;
      slot >= 0;
      slot = this.#cell(slot, NEXT) as number
    )
      out.push(slot);
    return out.reverse();
  }

  /** A fresh copy of the record in `slot`. */
  read(slot: number): StoredSession {
    const { cells, times } = this.#chunk(slot);
    const c = (slot & MASK) * CELLS;
    const t = (slot & MASK) * TIMES;
    return {
      id: cells[c + ID] as string,
      userId: cells[c + USER] as string,
      strategy: cells[c + STRATEGY] as StrategyName,
      secretHash: cells[c + SECRET] as string | null,
      previousSecretHash: cells[c + PREVIOUS] as string | null,
      previousValidUntil: cells[c + PREVIOUS_UNTIL] as number | null,
      successor: cells[c + SUCCESSOR] as string | null,
      createdAt: times[t + CREATED] as number,
      lastActiveAt: times[t + LAST_ACTIVE] as number,
      renewedAt: times[t + RENEWED] as number,
      authTime: times[t + AUTH] as number,
      expiresAt: times[t + EXPIRES] as number,
      absoluteExpiresAt: times[t + ABSOLUTE] as number,
      ip: cells[c + IP] as string | null,
      userAgent: cells[c + AGENT] as string | null,
      data: cloneJson(cells[c + DATA] as JsonObject),
      version: cells[c + VERSION] as number,
      // Most deployments bind no session: no lookup then.
      binding:
        this.#bindings.size === 0 ? null : (this.#bindings.get(cells[c + ID] as string) ?? null),
    };
  }

  id(slot: number): string {
    return this.#cell(slot, ID) as string;
  }
  userId(slot: number): string {
    return this.#cell(slot, USER) as string;
  }
  strategy(slot: number): StrategyName {
    return this.#cell(slot, STRATEGY) as StrategyName;
  }
  secretHash(slot: number): string | null {
    return this.#cell(slot, SECRET) as string | null;
  }
  version(slot: number): number {
    return this.#cell(slot, VERSION) as number;
  }
  createdAt(slot: number): number {
    return this.#time(slot, CREATED);
  }
  lastActiveAt(slot: number): number {
    return this.#time(slot, LAST_ACTIVE);
  }
  expiresAt(slot: number): number {
    return this.#time(slot, EXPIRES);
  }
  absoluteExpiresAt(slot: number): number {
    return this.#time(slot, ABSOLUTE);
  }

  setLastActiveAt(slot: number, at: number): void {
    this.#setTime(slot, LAST_ACTIVE, at);
  }
  setExpiresAt(slot: number, at: number): void {
    this.#setTime(slot, EXPIRES, at);
  }

  /** Replaces the record's data with a copy of `data` and increments its version. */
  update(slot: number, data: JsonObject): void {
    const copy = compactData(data);
    this.#setCell(slot, DATA, copy);
    this.#setCell(slot, VERSION, (this.#cell(slot, VERSION) as number) + 1);
  }

  /** Sets the record's binding if it has none; returns whether it did. */
  bind(slot: number, binding: string): boolean {
    const id = this.id(slot);
    if (this.#bindings.has(id)) return false;
    this.#bindings.set(id, flatten(binding));
    return true;
  }

  /** The secret fields of a rotation (the caller slides the expiry, if it does). */
  rotate(slot: number, input: RotateInput): void {
    this.#setCell(slot, PREVIOUS, input.previousSecretHash);
    this.#setCell(slot, PREVIOUS_UNTIL, input.graceUntil);
    this.#setCell(slot, SECRET, input.secretHash);
    this.#setCell(slot, SUCCESSOR, input.successor);
    this.#setTime(slot, RENEWED, input.now);
  }

  /** Moves the record in slot `from` to the free slot `to`. */
  #move(from: number, to: number): void {
    const a = this.#chunk(from);
    const b = this.#chunk(to);
    const c = (from & MASK) * CELLS;
    const t = (from & MASK) * TIMES;
    const d = (to & MASK) * CELLS;
    const u = (to & MASK) * TIMES;
    for (let i = 0; i < CELLS; i++) b.cells[d + i] = a.cells[c + i];
    for (let i = 0; i < TIMES; i++) b.times[u + i] = a.times[t + i] as number;
    this.#slots.set(this.id(to), to);
    const prev = this.#cell(to, PREV) as number;
    const next = this.#cell(to, NEXT) as number;
    if (next >= 0) this.#setCell(next, PREV, to);
    if (prev >= 0) this.#setCell(prev, NEXT, to);
    else this.#users.set(this.userId(to), to);
  }

  #chunk(slot: number): Chunk {
    const chunk = this.#chunks[slot >> SHIFT];
    if (chunk === undefined) throw new RangeError(`memory store: no slot ${slot}`);
    return chunk;
  }
  #cell(slot: number, cell: number): unknown {
    return this.#chunk(slot).cells[(slot & MASK) * CELLS + cell];
  }
  #setCell(slot: number, cell: number, value: unknown): void {
    this.#chunk(slot).cells[(slot & MASK) * CELLS + cell] = value;
  }
  #time(slot: number, time: number): number {
    return this.#chunk(slot).times[(slot & MASK) * TIMES + time] as number;
  }
  #setTime(slot: number, time: number, value: number): void {
    this.#chunk(slot).times[(slot & MASK) * TIMES + time] = value;
  }
}
