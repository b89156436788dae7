// Every store's methods work when taken off the store (`const { get } = store`): none of them
// reaches its siblings through `this`, so they can be passed around as plain functions.
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { memoryStore } from "../../src/stores/memory/index.js";
import { postgresStore } from "../../src/stores/postgres/index.js";
import { redisStore } from "../../src/stores/redis/index.js";
import { sqliteStore } from "../../src/stores/sqlite/index.js";
import type { SessionStore, StoreChange } from "../../src/stores/types.js";
import {
  deleteRedisKeys,
  dropPostgresTables,
  POSTGRES_URL,
  REDIS_URL,
} from "../helpers/backends.js";
import { recordFor } from "../helpers/records.js";
import { serviceAvailable } from "../helpers/services.js";
import { tempDir } from "../helpers/tmp.js";

const pgUp = await serviceAvailable("PostgreSQL", 5432);
const redisUp = await serviceAvailable("Redis", 6379);
const tag = randomBytes(4).toString("hex");
const pgPrefix = `sk_detached_${tag}_`;
const redisPrefix = `skdetached${tag}:`;
const dir = tempDir();

afterAll(async () => {
  if (pgUp) await dropPostgresTables(pgPrefix);
  if (redisUp) await deleteRedisKeys(redisPrefix);
});

const stores: Array<[string, boolean, () => SessionStore]> = [
  ["memory", true, () => memoryStore()],
  ["sqlite", true, () => sqliteStore({ path: join(dir, "detached.db") })],
  [
    "postgres",
    pgUp,
    () => postgresStore({ connectionString: POSTGRES_URL, tablePrefix: pgPrefix }),
  ],
  ["redis", redisUp, () => redisStore({ url: REDIS_URL, prefix: redisPrefix })],
];

describe.each(stores)("%s store, methods taken off the object", (_name, up, open) => {
  it.skipIf(!up)("create, get, update, rotate, listUser, subscribe, delete, close", async () => {
    const store = open();
    const { create, get, touch, update, rotate, bind, listUser, subscribe, deleteUser, close } =
      store;
    const remove = store.delete;
    try {
      const heard: StoreChange[] = [];
      const unsubscribe = subscribe((change) => heard.push(change));
      const userId = `user-${randomBytes(6).toString("hex")}`;
      const now = Date.now();
      const record = recordFor(store, userId, now);
      await create(record, { now });
      expect((await get(record.id, now))?.userId).toBe(userId);
      expect(await touch(record.id, { now, lastActiveAt: now, expiresAt: record.expiresAt })).toBe(
        true,
      );
      // A version that is not the record's: the conflict answer reads the record again.
      const conflict = await update(record.id, { now, expectedVersion: 7, data: { a: 1 } });
      expect(conflict.status).toBe("conflict");
      const updated = await update(record.id, { now, expectedVersion: 0, data: { a: 1 } });
      expect(updated.status).toBe("updated");
      const rotated = await rotate(record.id, {
        now,
        expectedSecretHash: record.secretHash ?? "",
        previousSecretHash: record.secretHash ?? "",
        secretHash: "next",
        successor: "succ",
        graceUntil: now,
      });
      expect(rotated?.secretHash).toBe("next");
      expect(await bind?.(record.id, "key", now)).toBe("bound");
      expect((await listUser(userId, now)).map((r) => r.id)).toEqual([record.id]);
      expect((await remove(record.id, "logout"))?.id).toBe(record.id);
      const other = recordFor(store, userId, now);
      await create(other, { now });
      expect((await deleteUser(userId, { reason: "revoked-user" })).map((r) => r.id)).toEqual([
        other.id,
      ]);
      expect(heard.map((c) => [c.id, c.reason])).toEqual([
        [record.id, "logout"],
        [other.id, "revoked-user"],
      ]);
      unsubscribe();
    } finally {
      await close();
    }
  });
});
