import { randomBytes } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import { postgresStore } from "../../src/stores/postgres/index.js";
import type { SessionStore, StoredSession } from "../../src/stores/types.js";
import { makeRecord } from "../../src/testing/store-conformance.js";
import { dropPostgresTables, POSTGRES_URL } from "../helpers/backends.js";
import { tcpProxy } from "../helpers/proxy.js";
import { serviceAvailable } from "../helpers/services.js";

// The PostgreSQL change feed under concurrent writers: sequence numbers are taken at insert,
// notifications arrive in commit order, so a listener must not drop a change for having a
// lower number than one it already heard; nor may a reconnection skip what committed while
// it was away. B listens through a TCP proxy that the second test cuts mid-traffic.
const available = await serviceAvailable("PostgreSQL", 5432);
const prefix = `sk_feed_${randomBytes(4).toString("hex")}_`;
const proxy = available ? await tcpProxy(5432) : null;
const T0 = 1_800_000_000_000;
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

afterAll(async () => {
  if (!available) return;
  await proxy?.close();
  await dropPostgresTables(prefix);
});

const open = (url = POSTGRES_URL) =>
  postgresStore({ connectionString: url, tablePrefix: prefix, connectTimeoutMs: 500 });

/** Signs `count` sessions in for a new user through `store`. */
async function signedIn(store: SessionStore, count: number): Promise<StoredSession[]> {
  const userId = `user-${randomBytes(8).toString("hex")}`;
  const records = Array.from({ length: count }, () => makeRecord({ userId }));
  for (const r of records) await store.create(r, { now: T0 });
  return records;
}

/** B's subscriber: which session ids it has heard, live once it heard a fresh revocation. */
async function listen(b: SessionStore, writer: SessionStore) {
  const heard = new Set<string>();
  const stop = b.subscribe((change) => heard.add(change.id));
  const [probe] = await signedIn(writer, 1);
  if (!probe) throw new Error("no probe");
  await writer.delete(probe.id, "revoked");
  const deadline = Date.now() + 5000;
  while (!heard.has(probe.id) && Date.now() < deadline) await pause(10);
  expect(heard.has(probe.id)).toBe(true);
  return { heard, stop };
}

async function allHeard(heard: Set<string>, ids: string[], withinMs: number) {
  const deadline = Date.now() + withinMs;
  while (ids.some((id) => !heard.has(id)) && Date.now() < deadline) await pause(20);
  return ids.filter((id) => !heard.has(id));
}

describe.skipIf(!available)("postgres change feed under concurrent writers", () => {
  it("delivers every revocation of revokeUser (150 sessions) racing unrelated revokes from two instances", async () => {
    const [a, b, c] = [open(), open(), open()];
    try {
      const { heard, stop } = await listen(b, a);
      const ids: string[] = [];
      for (let round = 0; round < 3; round++) {
        const big = await signedIn(a, 150);
        const small = await Promise.all(Array.from({ length: 10 }, () => signedIn(c, 1)));
        ids.push(...big.map((r) => r.id), ...small.flat().map((r) => r.id));
        await Promise.all([
          a.deleteUser(big[0]?.userId ?? "", { reason: "revoked-user" }),
          ...small.flat().map(async (r, i) => {
            await pause(1 + (i % 4));
            await (i % 2 ? a : c).delete(r.id, "revoked");
          }),
        ]);
      }
      expect(await allHeard(heard, ids, 5000)).toEqual([]);
      stop();
    } finally {
      for (const s of [a, b, c]) await s.close();
    }
  });

  it("delivers every revocation committed while its connection was cut and restored", async () => {
    if (!proxy) return;
    const [a, c] = [open(), open()];
    const b = open(`postgres://postgres@127.0.0.1:${proxy.port}/test`);
    try {
      const { heard, stop } = await listen(b, a);
      const ids: string[] = [];
      const users = await Promise.all(Array.from({ length: 6 }, () => signedIn(a, 60)));
      const singles = await Promise.all(Array.from({ length: 30 }, () => signedIn(c, 1)));
      ids.push(...users.flat().map((r) => r.id), ...singles.flat().map((r) => r.id));
      const writes = Promise.all([
        ...users.map(async (records, i) => {
          await pause(i * 40);
          await (i % 2 ? c : a).deleteUser(records[0]?.userId ?? "", { reason: "revoked-user" });
        }),
        ...singles.flat().map(async (r, i) => {
          await pause(i * 8);
          await (i % 2 ? a : c).delete(r.id, "revoked");
        }),
      ]);
      await pause(60);
      proxy.cut();
      await pause(150);
      proxy.restore();
      await writes;
      expect(await allHeard(heard, ids, 8000)).toEqual([]);
      stop();
    } finally {
      proxy.restore();
      for (const s of [a, b, c]) await s.close();
    }
  });
});
