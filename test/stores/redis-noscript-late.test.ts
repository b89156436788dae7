import { spawn } from "node:child_process";
import { createClient } from "redis";
import { expect, it } from "vitest";
import { redisStore } from "../../src/stores/redis/index.js";
import { freePort } from "../helpers/free-port.js";
import { interceptProxy } from "../helpers/intercept.js";
import { recordFor } from "../helpers/records.js";

// Found by an adversarial review: `run` retried NOSCRIPT with EVAL inside the guarded
// operation without checking the deadline; an EVALSHA whose NOSCRIPT answer arrives after the deadline (a restarted Redis or a
// promoted Cluster replica has an empty script cache; a slow link) sends EVAL after the call
// answered STORE_UNAVAILABLE: here a refresh-token rotation reported as failed is applied later,
// so the client's retry with its token (after the grace) counts as reuse and ends the session.
it("a rotation answered STORE_UNAVAILABLE is not applied afterwards", async () => {
  const port = await freePort();
  const server = spawn(
    "redis-server",
    ["--port", String(port), "--save", "", "--appendonly", "no"],
    { stdio: "ignore" },
  );
  await new Promise((r) => setTimeout(r, 300));
  const url = `redis://127.0.0.1:${port}`;
  const direct = redisStore({ url, prefix: "n:" });
  const delay = true;
  const proxy = await interceptProxy(port, async (dir, chunk) => {
    if (dir === "down" && delay && chunk.includes("NOSCRIPT"))
      await new Promise((r) => setTimeout(r, 800));
    return "pass";
  });
  const store = redisStore({
    url: `redis://127.0.0.1:${proxy.port}`,
    prefix: "n:",
    commandTimeoutMs: 300,
  });
  const raw = createClient({ url });
  try {
    await raw.connect();
    const now = Date.now();
    const r = recordFor(direct, "u", now, { strategy: "hybrid", secretHash: "a".repeat(43) });
    await direct.create(r, { now });
    await store.ping();
    const rotating = store.rotate(r.id, {
      now,
      expectedSecretHash: "a".repeat(43),
      previousSecretHash: "a".repeat(43),
      secretHash: "b".repeat(43),
      successor: "s",
      graceUntil: now + 10_000,
    });
    await expect(rotating).rejects.toMatchObject({ code: "STORE_UNAVAILABLE" });
    await new Promise((res) => setTimeout(res, 1200));
    const after = await direct.get(r.id, Date.now());
    expect(after?.secretHash).toBe("a".repeat(43));
  } finally {
    await store.close().catch(() => {});
    await direct.close();
    await raw.quit().catch(() => {});
    await proxy.close();
    server.kill();
  }
});
