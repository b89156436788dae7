import { randomBytes } from "node:crypto";
import { createServer } from "node:net";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  deleteRedisKeys,
  dropPostgresTables,
  POSTGRES_URL,
  REDIS_URL,
} from "../helpers/backends.js";
import { CLI, client, startNodeProcess, startServerProcess } from "../helpers/server.js";
import { serviceAvailable } from "../helpers/services.js";
import { tempDir } from "../helpers/tmp.js";

// A reference server started on a shared store whose feed replays asynchronously (Redis,
// PostgreSQL) must not answer a jwt/hybrid request until the replay of the revocations made
// before it started has arrived: from its first answer on its port, a token revoked earlier
// is refused as revoked (401), neither accepted nor refused as stale (503).
const PASSWORD = "correct horse battery";
const ORIGIN = "https://app.example";
const STRATEGIES = ["jwt", "hybrid"] as const;
const prefix = `sk_replay_e2e_${randomBytes(4).toString("hex")}_`;
const pg = await serviceAvailable("PostgreSQL", 5432);
const redis = await serviceAvailable("Redis", 6379);

afterAll(async () => {
  if (redis) await deleteRedisKeys(prefix);
  if (pg) await dropPostgresTables(prefix);
});

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const address = s.address();
      s.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });

describe("a reference server started after revocations on a shared store", () => {
  for (const [name, spec, available] of [
    ["redis", REDIS_URL, redis],
    ["postgres", POSTGRES_URL, pg],
  ] as const) {
    it.skipIf(!available)(
      `${name}: its first answers to a token revoked before it started are 401, never 200 or 503`,
      { timeout: 30_000 },
      async () => {
        const dir = tempDir();
        const args = ["--store", spec, "--origin", ORIGIN];
        const env = { SESSIONKIT_TABLE_PREFIX: prefix };
        const first = await startServerProcess(dir, args, env);
        const tokens: Array<[string, string]> = [];
        try {
          const api = client(first.url, ORIGIN);
          const signup = await api.request("POST", "/api/users", {
            username: `replay-${name}`,
            password: PASSWORD,
          });
          expect(signup.status, signup.text).toBe(201);
          for (const strategy of STRATEGIES) {
            const login = await api.request("POST", `/api/${strategy}/login`, {
              username: `replay-${name}`,
              password: PASSWORD,
              transport: "header",
            });
            expect(login.status, login.text).toBe(200);
            const token = login.json.accessToken as string;
            const bearer = { authorization: `Bearer ${token}` };
            const out = await client(first.url, null).request(
              "POST",
              `/api/${strategy}/logout`,
              undefined,
              bearer,
            );
            expect(out.status, out.text).toBe(204);
            tokens.push([strategy, token]);
          }
        } finally {
          expect(await first.stop()).toBe(0);
        }

        // Probes from before the new process opens its port until 300 ms after it says so.
        const port = await freePort();
        const answers: Array<[string, number]> = [];
        let stopAt = Number.POSITIVE_INFINITY;
        const probing = (async () => {
          while (Date.now() < stopAt) {
            for (const [strategy, token] of tokens) {
              const status = await fetch(`http://127.0.0.1:${port}/api/${strategy}/me`, {
                headers: { authorization: `Bearer ${token}` },
              }).then(
                (r) => r.status,
                () => 0, // not listening yet
              );
              if (status !== 0) answers.push([strategy, status]);
            }
            await new Promise((resolve) => setTimeout(resolve, 2));
          }
        })();
        const second = await startNodeProcess(
          [
            CLI,
            "serve",
            ...["--port", String(port), "--host", "127.0.0.1"],
            ...["--database", join(dir, "db.sqlite"), "--keys", join(dir, "keys.json")],
            ...args,
          ],
          { cwd: dir, env: { SESSIONKIT_SCRYPT_LOG2N: "10", ...env } },
        ).catch((error: unknown) => {
          stopAt = 0;
          throw error;
        });
        stopAt = Date.now() + 300;
        await probing;
        try {
          expect(answers.length).toBeGreaterThan(0);
          const wrong = answers.filter(([, status]) => status !== 401);
          expect(wrong, `${wrong.length} of ${answers.length} answers not 401`).toEqual([]);
        } finally {
          expect(await second.stop()).toBe(0);
        }
      },
    );
  }
});
