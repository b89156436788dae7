// The memory store keeps its records in a compact table (src/stores/memory/table.ts). These
// tests hold it to the behaviour of the plain implementation it replaced (one copied object
// per record, a Set of ids per user), reproduced below as the reference: the same random
// operations on both must give equal results and the same announcements, field for field,
// including the values the compact forms convert (hashes, shared strings, empty data) and the
// bindings the table keeps by id, apart from the slots records move between.
import { describe, expect, it } from "vitest";
import { LocalFeed } from "../../src/stores/feed.js";
import { memoryStore } from "../../src/stores/memory/index.js";
import type {
  JsonObject,
  RevocationReason,
  SessionStore,
  StoreChange,
  StoredSession,
  StrategyName,
} from "../../src/stores/types.js";
import { cloneJson } from "../../src/util/json.js";

/** The memory store as it was before the compact table (one object per record), for comparison. */
function referenceStore(): SessionStore {
  const records = new Map<string, StoredSession>();
  const byUser = new Map<string, Set<string>>();
  const feed = new LocalFeed();
  const heap: Array<{ at: number; id: string }> = [];
  const push = (at: number, id: string) => {
    heap.push({ at, id });
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if ((heap[parent]?.at ?? 0) <= at) break;
      [heap[i], heap[parent]] = [heap[parent] as { at: number; id: string }, heap[i] as never];
      i = parent;
    }
  };
  const popDue = (now: number) => {
    const top = heap[0];
    if (top === undefined || top.at > now) return undefined;
    const last = heap.pop() as { at: number; id: string };
    if (heap.length > 0) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        const right = left + 1;
        let least = i;
        if (left < heap.length && (heap[left]?.at ?? 0) < (heap[least]?.at ?? 0)) least = left;
        if (right < heap.length && (heap[right]?.at ?? 0) < (heap[least]?.at ?? 0)) least = right;
        if (least === i) break;
        [heap[i], heap[least]] = [heap[least] as never, heap[i] as never];
        i = least;
      }
    }
    return top;
  };
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
    name: "reference",
    async create(record, options) {
      if (records.has(record.id)) throw new Error(`session id collision: ${record.id}`);
      records.set(record.id, copy(record));
      push(record.expiresAt, record.id);
      const ids = byUser.get(record.userId) ?? new Set<string>();
      byUser.set(record.userId, ids);
      ids.add(record.id);
      const evicted: StoredSession[] = [];
      const cap = options.maxSessionsPerUser;
      if (cap !== undefined) {
        const others = userRecords(record.userId, record.strategy).filter(
          (r) => r.id !== record.id,
        );
        for (const old of others.filter((r) => r.expiresAt <= options.now)) remove(old, null);
        const alive = others.filter((r) => r.expiresAt > options.now);
        for (const old of alive.slice(0, Math.max(0, alive.length - (cap - 1)))) {
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
      if (expiresAt !== record.expiresAt) push(expiresAt, id);
      record.expiresAt = expiresAt;
      return true;
    },
    async update(id, input) {
      const record = live(id, input.now);
      if (!record) return { status: "missing" };
      if (record.version !== input.expectedVersion)
        return { status: "conflict", record: copy(record) };
      record.data = cloneJson(input.data);
      record.version++;
      return { status: "updated", record: copy(record) };
    },
    async rotate(id, input) {
      const record = live(id, input.now);
      if (!record || record.secretHash !== input.expectedSecretHash) return null;
      record.previousSecretHash = input.previousSecretHash;
      record.previousValidUntil = input.graceUntil;
      record.secretHash = input.secretHash;
      record.successor = input.successor;
      record.renewedAt = input.now;
      if (input.expiresAt !== undefined) {
        record.expiresAt = Math.min(input.expiresAt, record.absoluteExpiresAt);
        push(record.expiresAt, id);
      }
      return copy(record);
    },
    async bind(id, binding, now) {
      const record = live(id, now);
      if (!record) return "missing";
      if (record.binding !== null) return "conflict";
      record.binding = binding;
      return "bound";
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
        const due = popDue(now);
        if (!due) break;
        const record = records.get(due.id);
        if (!record || record.expiresAt !== due.at) continue;
        remove(record, null);
        deleted.push(record);
      }
      return deleted;
    },
    subscribe: (listener) => feed.subscribe(listener),
    async ping() {},
    async close() {},
  };
}

/** mulberry32: a seeded generator, so that a failure replays. */
function random(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)] as T;
  const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => int(256)));
  return { next, int, pick, bytes };
}

const T0 = 1_800_000_000_000;

/**
 * Records live for up to `lifetime` ms (the clock moves 1 ms a step on average), among `users`
 * users; `capped` of the creations cap the user's sessions.
 */
interface Shape {
  lifetime: number;
  users: number;
  capped: number;
}
const SHORT: Shape = { lifetime: 60, users: 6, capped: 0.4 };

function generator(seed: number, shape: Shape) {
  const r = random(seed);
  const hash = () => r.bytes(32).toString("base64url");
  /** Every kind of value a hash field may hold, packed or kept as it is. */
  /** A binding as the manager writes one, or an edge of what a store must keep as given. */
  const binding = (): string =>
    r.pick([
      () => JSON.stringify({ kind: "dpop", jkt: hash(), jwk: { kty: "OKP", x: hash() } }),
      () => JSON.stringify({ kind: "dbsc", jkt: hash(), note: 'ü / "q" 🔑' }),
      () => "",
      () => hash(),
    ])();
  const hashLike = (): string | null =>
    r.pick([
      hash,
      hash,
      hash,
      () => null,
      // 43 characters of base64url, but not the canonical spelling of 32 bytes.
      () => `${hash().slice(0, 42)}B`,
      () => `${hash().slice(0, 42)}+`,
      // As long as a packed hash: kept as given, never read as one.
      () => r.bytes(32).toString("latin1"),
      () => "x".repeat(32),
      () => r.bytes(32).toString("hex"),
      () => "",
      () => "ü".repeat(43),
    ])();
  const ids: string[] = [];
  const users = Array.from({ length: shape.users }, (_, i) => `user-${seed}-${i}`);
  const agents = ["Mozilla/5.0 (X11; Linux x86_64) Firefox/131.0", "curl/8.5.0", "", null];
  const ips = ["198.51.100.7", "2001:db8::1", null];
  const strategies: StrategyName[] = ["id", "jwt", "hybrid"];
  const data = (): JsonObject =>
    r.pick<() => JsonObject>([
      () => ({}),
      () => ({}),
      () => ({ n: r.int(10) }),
      () => ({ theme: "dark", nested: { list: [1, "two", null, { deep: true }] } }),
      () => JSON.parse('{"__proto__": {"x": 1}, "a": []}') as JsonObject,
      () => Object.create(null) as JsonObject,
      () => [] as unknown as JsonObject,
      () => [{ a: 1 }] as unknown as JsonObject,
    ])();
  // A copy of the string, as a request would parse it (the store shares what it can).
  const fresh = <T>(value: T): T =>
    (typeof value === "string" ? Buffer.from(value).toString() : value) as T;

  const record = (now: number): StoredSession => {
    const id = r.bytes(16).toString("base64url");
    ids.push(id);
    const createdAt = now - r.int(5);
    const expiresAt = createdAt + 1 + r.int(shape.lifetime);
    const rotated = r.next() < 0.3;
    return {
      id,
      userId: fresh(r.pick(users)),
      strategy: fresh(r.pick(strategies)),
      secretHash: hashLike(),
      previousSecretHash: rotated ? `${hash()}.${hash().slice(0, 8)}~${hash().slice(0, 8)}` : null,
      previousValidUntil: rotated ? createdAt + r.int(30) : null,
      successor: rotated ? r.bytes(40).toString("base64url") : null,
      createdAt,
      lastActiveAt: createdAt + r.pick([0, 0, 0.5, 3]),
      renewedAt: createdAt,
      authTime: createdAt - r.int(1000),
      expiresAt,
      absoluteExpiresAt: expiresAt + r.pick([0, 20, 100]),
      ip: fresh(r.pick(ips)),
      userAgent: fresh(r.pick(agents)),
      data: data(),
      version: r.pick([0, 0, 3, 2 ** 40]),
      binding: r.next() < 0.3 ? binding() : null,
    };
  };
  /** Mostly a recent id (likely live), sometimes an old one or one never created. */
  const known = () => {
    const p = r.next();
    if (ids.length === 0 || p < 0.1) return `unknown-${r.int(9)}`;
    return p < 0.8
      ? (ids[ids.length - 1 - r.int(Math.min(15, ids.length))] as string)
      : r.pick(ids);
  };
  return { r, record, known, users, strategies, data, hashLike, hash, binding };
}

/** Runs `steps` random operations on both stores and compares every result. */
async function compare(seed: number, steps: number, shape = SHORT) {
  const g = generator(seed, shape);
  const { r } = g;
  const mine = memoryStore();
  const reference = referenceStore();
  const heard: { mine: StoreChange[]; reference: StoreChange[] } = { mine: [], reference: [] };
  mine.subscribe((c) => heard.mine.push(c));
  reference.subscribe((c) => heard.reference.push(c));
  let now = T0;
  const both = async <T>(label: string, call: (store: SessionStore) => Promise<T>) => {
    const expected = await call(reference);
    const actual = await call(mine);
    expect(actual, `seed ${seed}: ${label}`).toStrictEqual(expected);
    return actual;
  };
  for (let step = 0; step < steps; step++) {
    now += r.int(3);
    const op = r.int(108);
    if (op < 30) {
      const record = g.record(now);
      const cap = r.next() < shape.capped ? 1 + r.int(3) : undefined;
      const options = cap === undefined ? { now } : { now, maxSessionsPerUser: cap };
      await both("create", (s) => s.create(structuredClone(record), options));
    } else if (op < 45) {
      const id = g.known();
      await both("get", (s) => s.get(id, now));
    } else if (op < 55) {
      const id = g.known();
      const input = { now, lastActiveAt: now, expiresAt: now + r.int(80) };
      await both("touch", (s) => s.touch(id, input));
    } else if (op < 63) {
      const id = g.known();
      const current = await reference.get(id, now);
      const input = {
        now,
        expectedVersion: r.next() < 0.8 ? (current?.version ?? 0) : -1,
        data: g.data(),
      };
      await both("update", (s) => s.update(id, structuredClone(input)));
    } else if (op < 71) {
      const id = g.known();
      const current = await reference.get(id, now);
      const input = {
        now,
        expectedSecretHash:
          r.next() < 0.8 ? (current?.secretHash ?? "") : (g.hashLike() ?? "not-it"),
        previousSecretHash: `${current?.secretHash}.${g.hash().slice(0, 6)}`,
        secretHash: g.hashLike() ?? g.hash(),
        successor: g.hash(),
        graceUntil: now + r.int(20),
        ...(r.next() < 0.5 ? { expiresAt: now + r.int(100) } : {}),
      };
      await both("rotate", (s) => s.rotate(id, input));
    } else if (op < 78) {
      const id = g.known();
      const reason = r.pick<RevocationReason>(["logout", "revoked"]);
      await both("delete", (s) => s.delete(id, reason));
    } else if (op < 82) {
      const userId = r.pick(g.users);
      const listed = await reference.listUser(userId, now);
      const options = {
        reason: "revoked-user" as const,
        ...(r.next() < 0.5 ? { strategy: r.pick(g.strategies) } : {}),
        ...(r.next() < 0.5 && listed.length > 0 ? { except: r.pick(listed).id } : {}),
      };
      await both("deleteUser", (s) => s.deleteUser(userId, options));
    } else if (op < 92) {
      const userId = r.pick(g.users);
      await both("listUser", (s) => s.listUser(userId, now));
    } else if (op >= 100) {
      const [id, binding] = [g.known(), g.binding()];
      await both("bind", (s) => s.bind?.(id, binding, now) ?? Promise.resolve("no bind"));
    } else {
      const [at, limit] = [now + r.int(10), r.int(6)];
      await both("deleteExpired", (s) => s.deleteExpired(at, limit));
    }
  }
  expect(heard.mine, `seed ${seed}: announcements`).toStrictEqual(heard.reference);
  // Everything still stored, as the reference has it.
  for (const userId of g.users) {
    expect(await mine.listUser(userId, 0)).toStrictEqual(await reference.listUser(userId, 0));
  }
}

describe("memory store: compact table", () => {
  it("behaves as the plain implementation on random operations", async () => {
    for (let seed = 1; seed <= 8; seed++) await compare(seed, 3000);
  });

  it("behaves as the plain implementation with a thousand sessions live", async () => {
    // Many chunks of slots, so that removals move records across them and release some.
    const shape = { lifetime: 20_000, users: 300, capped: 0.05 };
    for (let seed = 9; seed <= 10; seed++) await compare(seed, 6000, shape);
  });

  it("hands out fresh copies, never the shared empty data or a shared string holder", async () => {
    const store = memoryStore();
    const record = generator(99, SHORT).record(T0);
    record.data = {};
    await store.create(record, { now: T0 });
    const a = await store.get(record.id, T0);
    const b = await store.get(record.id, T0);
    if (!a || !b) throw new Error("missing");
    expect(a.data).not.toBe(b.data);
    a.data.changed = true;
    expect(Object.isFrozen(a.data)).toBe(false);
    expect((await store.get(record.id, T0))?.data).toStrictEqual({});
    expect(b).toStrictEqual({ ...record, data: {} });
  });

  it("moves records into the slots of deleted ones without mixing them up", async () => {
    const store = memoryStore();
    const g = generator(7, SHORT);
    const records: StoredSession[] = [];
    for (let i = 0; i < 3000; i++) {
      const record = g.record(T0);
      record.expiresAt = T0 + 10 + (i % 7);
      record.absoluteExpiresAt = record.expiresAt + 100;
      records.push(record);
      await store.create(record, { now: T0 });
    }
    // Every other one gone, then as many new ones in their slots, with the same expiries (the
    // expiry heap still holds the entries of the deleted ones).
    for (const record of records.filter((_, i) => i % 2 === 0))
      await store.delete(record.id, "logout");
    const added: StoredSession[] = [];
    for (let i = 0; i < 1500; i++) {
      const record = g.record(T0);
      record.expiresAt = T0 + 10 + (i % 7);
      record.absoluteExpiresAt = record.expiresAt + 100;
      added.push(record);
      await store.create(record, { now: T0 });
    }
    const kept = [...records.filter((_, i) => i % 2 === 1), ...added];
    for (const record of kept) {
      const stored = { ...record, data: cloneJson(record.data) };
      expect(await store.get(record.id, T0)).toStrictEqual(stored);
    }
    let expired: StoredSession[] = [];
    for (let batch = await store.deleteExpired(T0 + 20, 100); batch.length > 0; ) {
      expired = expired.concat(batch);
      batch = await store.deleteExpired(T0 + 20, 100);
    }
    expect(expired.map((r) => r.id).sort()).toEqual(kept.map((r) => r.id).sort());
    for (const userId of g.users) expect(await store.listUser(userId, 0)).toEqual([]);
  });
});
