import { beforeEach, describe, expect, it } from "vitest";
import { APP_PASSWORD, appClient, referenceApp, signedInClient } from "../helpers/app.js";

// Names that every plain object answers through its prototype: a request that picks an entry
// of a record by one of them must be told "no such thing" (4xx), never reach a 500.
const PROTOTYPE_NAMES = [
  "__proto__",
  "constructor",
  "toString",
  "hasOwnProperty",
  "valueOf",
  "__defineGetter__",
  "isPrototypeOf",
  "prototype",
];
const STRATEGIES = ["id", "jwt", "hybrid"] as const;

const { app, logged } = referenceApp();

async function expectProblem(response: Response, status: number, what: string) {
  expect(response.status, what).toBe(status);
  expect(response.headers.get("content-type"), what).toBe("application/problem+json");
  const body = (await response.json()) as { status?: number; code?: unknown };
  expect(body.status, what).toBe(status);
  expect(typeof body.code, what).toBe("string");
}

const errorsLogged = () => logged.filter((line) => /^error\b/.test(line));
beforeEach(() => {
  logged.length = 0;
});

describe("request input that names an Object.prototype member", () => {
  it("POST /api/strategies/revoke: such a strategy is 400 invalid_strategy, signed in or not", async () => {
    const anonymous = appClient(app);
    const user = await signedInClient(app, "id");
    for (const name of PROTOTYPE_NAMES) {
      for (const c of [anonymous, user]) {
        const r = await c.request("POST", "/api/strategies/revoke", { strategy: name });
        await expectProblem(r, 400, `strategy ${name}`);
      }
    }
    // A member called "__proto__" in the JSON body is data, not the body's prototype.
    const nested = await user.request(
      "POST",
      "/api/strategies/revoke",
      '{"__proto__":{"strategy":"id"}}',
    );
    await expectProblem(nested, 400, "nested __proto__");
    expect((await user.request("GET", "/api/id/me")).status).toBe(200);
    expect(errorsLogged()).toEqual([]);
  });

  it("a strategy path segment (/api/{name}/…) is 404 problem+json on every route", async () => {
    const c = appClient(app);
    for (const name of PROTOTYPE_NAMES) {
      for (const [method, path] of [
        ["GET", "me"],
        ["POST", "login"],
        ["POST", "logout"],
        ["GET", "sessions"],
        ["DELETE", "sessions/x"],
        ["POST", "sessions/revoke-all"],
        ["POST", "refresh"],
      ] as const) {
        const body = method === "GET" ? undefined : {};
        const r = await c.request(method, `/api/${encodeURIComponent(name)}/${path}`, body);
        await expectProblem(r, 404, `${method} /api/${name}/${path}`);
      }
    }
    expect(errorsLogged()).toEqual([]);
  });

  it("DELETE /api/{s}/sessions/{id}: such an id is 404, and the caller's session stays", async () => {
    for (const strategy of STRATEGIES) {
      const user = await signedInClient(app, strategy);
      for (const name of PROTOTYPE_NAMES) {
        const r = await user.request(
          "DELETE",
          `/api/${strategy}/sessions/${encodeURIComponent(name)}`,
        );
        await expectProblem(r, 404, `${strategy} ${name}`);
      }
      expect((await user.request("GET", `/api/${strategy}/me`)).status).toBe(200);
    }
    expect(errorsLogged()).toEqual([]);
  });

  it("POST /api/{s}/login: such a transport is 400, such a username or password 401", async () => {
    const c = appClient(app);
    for (const strategy of STRATEGIES) {
      for (const name of PROTOTYPE_NAMES) {
        const transport = await c.request("POST", `/api/${strategy}/login`, {
          username: "nobody-here",
          password: APP_PASSWORD,
          transport: name,
        });
        await expectProblem(transport, 400, `${strategy} transport ${name}`);
        const credentials = await c.request("POST", `/api/${strategy}/login`, {
          username: name,
          password: name.padEnd(8, "_"),
        });
        await expectProblem(credentials, 401, `${strategy} username ${name}`);
      }
    }
    expect(errorsLogged()).toEqual([]);
  });

  it("POST /api/users: such a username is a name like any other (201, then 409), never an error", async () => {
    for (const name of PROTOTYPE_NAMES) {
      const c = appClient(app);
      const first = await c.request("POST", "/api/users", {
        username: name,
        password: APP_PASSWORD,
      });
      if (first.status === 201) {
        expect(((await first.json()) as { user: { username: string } }).user.username).toBe(name);
        const again = await c.request("POST", "/api/users", {
          username: name,
          password: APP_PASSWORD,
        });
        await expectProblem(again, 409, `again ${name}`);
        const login = await c.request("POST", "/api/id/login", {
          username: name,
          password: APP_PASSWORD,
        });
        expect(login.status, `sign-in as ${name}`).toBe(200);
      } else {
        await expectProblem(first, 400, `username ${name}`); // not a valid username at all
      }
    }
    expect(errorsLogged()).toEqual([]);
  });

  it("POST /api/hybrid/refresh: such a refresh token is 401", async () => {
    const c = appClient(app);
    for (const name of PROTOTYPE_NAMES) {
      const r = await c.request("POST", "/api/hybrid/refresh", { refreshToken: name });
      await expectProblem(r, 401, `refreshToken ${name}`);
    }
    expect(errorsLogged()).toEqual([]);
  });

  it("POST /api/inspect: such a token is refused by both verifiers (its ordinary 200 answer)", async () => {
    const c = appClient(app);
    for (const name of PROTOTYPE_NAMES) {
      const r = await c.request("POST", "/api/inspect", { token: name });
      expect(r.status, name).toBe(200);
      const body = (await r.json()) as { header: unknown; server: { ok: boolean } };
      expect(body.header).toBeNull();
      expect(body.server.ok).toBe(false);
    }
    expect(errorsLogged()).toEqual([]);
  });

  it("GET /assets/client/{file}: such a file is 404 problem+json", async () => {
    const c = appClient(app);
    for (const name of PROTOTYPE_NAMES) {
      const r = await c.request("GET", `/assets/client/${encodeURIComponent(name)}`);
      await expectProblem(r, 404, `file ${name}`);
    }
    expect(errorsLogged()).toEqual([]);
  });
});
