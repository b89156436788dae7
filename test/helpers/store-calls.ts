import { expect } from "vitest";
import type { SessionStore } from "../../src/index.js";
import { recordFor } from "./records.js";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Every call of the store contract that reaches the backend, with valid arguments for a fresh
 * user: what an outage test runs, so that no call is left out of its bound.
 */
export function everyStoreCall(store: SessionStore, userId: string) {
  const now = Date.now();
  const r = recordFor(store, userId, now);
  return {
    create: () => store.create(r, { now, maxSessionsPerUser: 3 }),
    get: () => store.get(r.id, now),
    touch: () => store.touch(r.id, { now, lastActiveAt: now, expiresAt: now + 60_000 }),
    update: () => store.update(r.id, { now, expectedVersion: 0, data: { a: 1 } }),
    rotate: () =>
      store.rotate(r.id, {
        now,
        expectedSecretHash: r.secretHash ?? "",
        previousSecretHash: r.secretHash ?? "",
        secretHash: "next",
        successor: "sealed",
        graceUntil: now + 10_000,
      }),
    bind: () => store.bind?.(r.id, '{"jkt":"x"}', now) ?? Promise.resolve("missing"),
    delete: () => store.delete(r.id, "revoked"),
    deleteUser: () => store.deleteUser(userId, { reason: "revoked-user" }),
    listUser: () => store.listUser(userId, now),
    ping: () => store.ping(),
  };
}

/** How a call ended (`"ok"`, an error code, or `"hung"` past `hangMs`) and after how long. */
export async function outcome(call: () => Promise<unknown>, hangMs: number) {
  const started = Date.now();
  const result = await Promise.race([
    call().then(
      () => "ok",
      (error: { code?: string }) => error?.code ?? String(error),
    ),
    sleep(hangMs).then(() => "hung"),
  ]);
  return { result, ms: Date.now() - started };
}

/**
 * Runs every store call at once and expects each to answer STORE_UNAVAILABLE within
 * `boundMs` plus a little scheduling slack, never to hang.
 */
export async function expectEveryCallUnavailable(
  store: SessionStore,
  userId: string,
  boundMs: number,
) {
  const calls = Object.entries(everyStoreCall(store, userId));
  const outcomes = await Promise.all(
    calls.map(async ([name, call]) => [name, await outcome(call, boundMs * 4)] as const),
  );
  for (const [name, { result, ms }] of outcomes) {
    expect(result, name).toBe("STORE_UNAVAILABLE");
    expect(ms, name).toBeLessThan(boundMs + 400);
  }
}

/** Waits until the store answers again (within `ms`), then checks a write and a read. */
export async function expectRecovery(store: SessionStore, userId: string, ms = 8000) {
  await expect
    .poll(
      () =>
        store.ping().then(
          () => true,
          () => false,
        ),
      { timeout: ms, interval: 50 },
    )
    .toBe(true);
  const now = Date.now();
  const r = recordFor(store, userId, now);
  await store.create(r, { now });
  expect((await store.get(r.id, now))?.userId).toBe(userId);
}
