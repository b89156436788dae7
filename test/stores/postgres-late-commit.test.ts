// Found by an adversarial review: a PostgreSQL call that has already answered STORE_UNAVAILABLE still commits
// its transaction afterwards (c8efc91 guards only "not started yet").
import { expect, it } from "vitest";
import { isSessionError } from "../../src/errors.js";
import { postgresStore } from "../../src/stores/postgres/index.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

it("a revokeUser answered STORE_UNAVAILABLE must not commit afterwards", async () => {
  const t0 = Date.now();
  const log: string[] = [];
  const at = () => `${String(Date.now() - t0).padStart(4)}ms`;
  const fakeClient = () => {
    let destroyed = false;
    return {
      on() {},
      release() {},
      connection: {
        stream: {
          destroy() {
            destroyed = true;
            log.push(`${at()} connection destroyed`);
          },
        },
      },
      async query(text: string) {
        if (destroyed) throw new Error("Connection terminated");
        // The schema check is slow (the server just came back; another instance migrates).
        if (text.includes("pg_advisory_xact_lock") && log.every((l) => !l.includes("schema ready")))
          await sleep(450);
        if (destroyed) throw new Error("Connection terminated");
        log.push(`${at()} ${text.replace(/\s+/g, " ").slice(0, 50)}`);
        if (text.startsWith("SELECT version")) return { rows: [] };
        if (text.startsWith(`INSERT INTO sk_schema`)) log.push(`${at()} schema ready`);
        if (text.startsWith("DELETE FROM sk_sessions WHERE user_id"))
          return {
            rows: [{ id: "x", user_id: "u1", strategy: "id", expires_at: Date.now() + 1e6 }],
          };
        if (text.startsWith("INSERT INTO sk_changes")) return { rows: [{ seq: "1" }] };
        return { rows: [] };
      },
    };
  };
  // The first connection is there; the next one takes 300 ms to open (the server is back but
  // the pool reconnects), well within connectTimeoutMs.
  let connections = 0;
  const pool = {
    options: {},
    on() {},
    connect: async () => {
      if (connections++ > 0) await sleep(300);
      return fakeClient();
    },
    end: async () => {},
  };
  const store = postgresStore({ pool: pool as never, tablePrefix: "sk_", commandTimeoutMs: 500 });

  let answered = "";
  const call = store.deleteUser("u1", { strategy: "id", reason: "revoked-user" }).then(
    () => (answered = `${at()} resolved`),
    (error) =>
      (answered = `${at()} ${isSessionError(error, "STORE_UNAVAILABLE") ? "STORE_UNAVAILABLE" : error}`),
  );
  await call;
  const answeredAt = Date.now() - t0;
  await sleep(800);
  console.log([...log, `answer: ${answered}`].join("\n"));
  const commitAfterAnswer = log
    .filter((l) => / (BEGIN|DELETE FROM sk_sessions WHERE user_id|COMMIT)/.test(l))
    .map((l) => Number.parseInt(l, 10))
    .filter((t) => t > answeredAt);
  expect(answered).toContain("STORE_UNAVAILABLE");
  // The property the fix promises: nothing commits once the caller was told "unavailable".
  expect(
    commitAfterAnswer,
    "statements of the revocation sent after it answered STORE_UNAVAILABLE",
  ).toEqual([]);
});
