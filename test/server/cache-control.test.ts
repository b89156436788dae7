import { describe, expect, it } from "vitest";
import { APP_PASSWORD, appClient, referenceApp, signedInClient } from "../helpers/app.js";

// Responses about a signed-in user (who they are, their devices' user agents and addresses,
// session ids, tokens) must never sit in a browser's or a proxy's cache: Cache-Control:
// no-store (OWASP session management cheat sheet).
const { app } = referenceApp({ lab: true });
const STRATEGIES = ["id", "jwt", "hybrid"] as const;

const noStore = (response: Response, what: string) => {
  expect(response.status, what).toBe(200);
  expect(response.headers.get("cache-control"), what).toBe("no-store");
};

describe("reference server: Cache-Control on authenticated responses", () => {
  it("/me, /sessions and revoke-all with a cookie, for every strategy", async () => {
    for (const strategy of STRATEGIES) {
      const c = await signedInClient(app, strategy);
      noStore(await c.request("GET", `/api/${strategy}/me`), `${strategy} /me`);
      noStore(await c.request("GET", `/api/${strategy}/sessions`), `${strategy} /sessions`);
      noStore(
        await c.request("POST", `/api/${strategy}/sessions/revoke-all`, { exceptCurrent: true }),
        `${strategy} revoke-all`,
      );
    }
  });

  it("/me and /sessions with a bearer token, for every strategy", async () => {
    const { username } = await signedInClient(app, "id");
    for (const strategy of STRATEGIES) {
      const login = await appClient(app).request("POST", `/api/${strategy}/login`, {
        username,
        password: APP_PASSWORD,
        transport: "header",
      });
      const { accessToken } = (await login.json()) as { accessToken: string };
      const bearer = { authorization: `Bearer ${accessToken}` };
      const c = appClient(app);
      noStore(await c.request("GET", `/api/${strategy}/me`, undefined, bearer), `${strategy} /me`);
      noStore(
        await c.request("GET", `/api/${strategy}/sessions`, undefined, bearer),
        `${strategy} /sessions`,
      );
    }
  });

  it("/api/csrf, the side-by-side state and revocation, the lab's copy, the inspector's answer", async () => {
    const c = await signedInClient(app, "id");
    noStore(await c.request("GET", "/api/csrf"), "/api/csrf");
    noStore(await c.request("GET", "/api/strategies/state"), "/api/strategies/state");
    noStore(await c.request("POST", "/api/lab/copy"), "/api/lab/copy");
    const { token } = (await (await c.request("POST", "/api/lab/copy")).json()) as {
      token: string;
    };
    noStore(
      await c.request("GET", "/api/lab/me", undefined, { authorization: `Bearer ${token}` }),
      "/api/lab/me",
    );
    noStore(await c.request("POST", "/api/inspect", { token: "a.b.c" }), "/api/inspect");
    noStore(await c.request("POST", "/api/strategies/revoke", { strategy: "id" }), "revoke");
  });
});
