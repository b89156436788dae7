// Found by an adversarial review: since 0975499 the reference server's signed-in routes (/me, /sessions,
// DELETE /sessions/:id, revoke-all) read Node's parsed headers, where a repeated Authorization
// line is silently dropped (Node keeps the first). The same request through the Fetch headers
// (@hono/node-server joins repeated Authorization lines, so "Bearer a, Bearer b" is malformed),
// as /logout and /api/strategies/revoke still read it, is refused. An ambiguous credential
// should be a failure (credentials.ts: "a malformed or ambiguous credential is a failure").
import http from "node:http";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { resolveServerConfig } from "../../src/server/config.js";
import { type RunningServer, startServer } from "../../src/server/serve.js";
import { tempDir } from "../helpers/tmp.js";

const dir = tempDir();
let server: RunningServer;
beforeAll(async () => {
  server = await startServer(
    resolveServerConfig(
      {
        port: "0",
        host: "127.0.0.1",
        database: join(dir, "db.sqlite"),
        keys: join(dir, "keys.json"),
      },
      { SESSIONKIT_SCRYPT_LOG2N: "10" },
    ),
    () => {},
  );
});
afterAll(() => server?.close());

function send(
  method: string,
  path: string,
  headers: Record<string, string | string[]>,
  body?: string,
) {
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = http.request(server.url + path, { method, agent: false });
    for (const [k, v] of Object.entries(headers)) req.setHeader(k, v);
    req.on("response", (res) => {
      let text = "";
      res.on("data", (d) => (text += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

it("two Authorization lines are an ambiguous credential on every route", async () => {
  const json = { origin: server.url, "content-type": "application/json" };
  const user = { username: "mallory", password: "correct horse battery" };
  expect((await send("POST", "/api/users", json, JSON.stringify(user))).status).toBe(201);
  const answers: Record<string, number> = {};
  for (const strategy of ["id", "jwt", "hybrid"]) {
    const login = await send(
      "POST",
      `/api/${strategy}/login`,
      json,
      JSON.stringify({ ...user, transport: "header" }),
    );
    const { accessToken } = JSON.parse(login.body) as { accessToken: string };
    const two = { authorization: [`Bearer ${accessToken}`, "Bearer something-else"] };
    answers[`${strategy} GET /me`] = (await send("GET", `/api/${strategy}/me`, two)).status;
    answers[`${strategy} GET /sessions`] = (
      await send("GET", `/api/${strategy}/sessions`, two)
    ).status;
    answers[`${strategy} POST /logout`] = (
      await send("POST", `/api/${strategy}/logout`, two)
    ).status;
  }
  console.log(answers);
  // Every route should answer as /logout does (401): actual /me and /sessions answer 200.
  for (const [route, status] of Object.entries(answers)) expect(status, route).toBe(401);
});
