import { createClient } from "redis";
import { expect, it } from "vitest";
import { redisStore } from "../../src/stores/redis/index.js";
import { deleteRedisKeys } from "../helpers/backends.js";
import { interceptProxy } from "../helpers/intercept.js";
import { recordFor } from "../helpers/records.js";
import { serviceAvailable } from "../helpers/services.js";

// Found by an adversarial review: a record that slid between the announcement and the deletion
// was deleted, and its re-announcement (with the final expiry) was lost if the process died or
// lost Redis right after: the log kept only the stale expiry, so every instance forgot the
// revocation at stale expiry + 30 s while tokens signed after the slide lived until their exp.
const up = await serviceAvailable("Redis", 6379);
it.skipIf(!up)(
  "a record that slides while being revoked is never deleted before its final expiry is announced",
  async () => {
    const p = `scr${process.pid}:`;
    const direct = redisStore({ url: "redis://127.0.0.1:6379", prefix: p });
    const raw = createClient({ url: "redis://127.0.0.1:6379" });
    await raw.connect();
    const now = Date.now();
    const r = recordFor(direct, "slider", now, { strategy: "jwt" });
    await direct.create(r, { now });
    let xadds = 0;
    const proxy = await interceptProxy(6379, async (dir, chunk) => {
      if (dir !== "up" || !chunk.includes("XADD")) return "pass";
      xadds++;
      if (xadds === 1) {
        // a request on another instance slides the session (and signs a token up to the new expiry)
        await direct.touch(r.id, { now, lastActiveAt: now, expiresAt: now + 1_800_000 });
        return "pass";
      }
      return "drop"; // the process dies / loses Redis right after DELETE_IDS
    });
    const store = redisStore({
      url: `redis://127.0.0.1:${proxy.port}`,
      prefix: p,
      commandTimeoutMs: 500,
    });
    try {
      await expect(store.delete(r.id, "revoked")).rejects.toThrow(); // caller: 503
      const kept = (await direct.get(r.id, now)) !== null;
      const entries = await raw.xRange(`${p}{rev}:log`, "-", "+");
      const announced = Math.max(
        ...entries.map((e) => Number(JSON.parse(e.message.c ?? "{}").expiresAt)),
      );
      // Either the record is still there for a later revocation to find, or its final expiry
      // is in the log: every token of the session stays refused until then (+30 s).
      expect({ kept, finalAnnounced: announced >= now + 1_800_000 }).not.toEqual({
        kept: false,
        finalAnnounced: false,
      });
    } finally {
      await store.close().catch(() => {});
      await direct.close();
      await proxy.close();
      await raw.quit();
      await deleteRedisKeys(p);
    }
  },
);
