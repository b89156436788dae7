import { describe, expect, it } from "vitest";
import { SessionError } from "../../src/errors.js";
import { resolveServerConfig } from "../../src/server/config.js";
import { client, type ServerProcess, startServerProcess } from "../helpers/server.js";
import { tempDir } from "../helpers/tmp.js";

// The storage lab shows what an injected script can take from each place a token can live.
// Its copy route must not become the way out for a real XSS: off unless the server is started
// with --lab (or SESSIONKIT_LAB), and even then what it hands out is a lab-only token that
// authorises nothing but the lab's own route.
const PASSWORD = "correct horse battery";
let n = 0;

async function signedIn(base: string, strategy = "id") {
  const c = client(base);
  const username = `lab${++n}x${Date.now() % 100000}`;
  expect((await c.request("POST", "/api/users", { username, password: PASSWORD })).status).toBe(
    201,
  );
  const login = await c.request("POST", `/api/${strategy}/login`, { username, password: PASSWORD });
  expect(login.status).toBe(200);
  return c;
}

async function withServer(
  args: string[],
  env: Record<string, string>,
  run: (s: ServerProcess) => Promise<void>,
) {
  const server = await startServerProcess(tempDir(), args, env);
  try {
    await run(server);
  } finally {
    expect(await server.stop()).toBe(0);
  }
}

describe("storage lab", () => {
  it("is off by default: the copy route hands out no token (404) and the page says how to turn it on", async () => {
    await withServer([], { SESSIONKIT_LAB: "" }, async (server) => {
      const c = await signedIn(server.url);
      const copy = await c.request("POST", "/api/lab/copy");
      expect(copy.status).toBe(404);
      expect(copy.headers.get("content-type")).toBe("application/problem+json");
      expect(copy.json).not.toHaveProperty("token");
      expect(copy.text).not.toContain(c.jar.get("__Host-sid"));
      const page = await c.request("GET", "/lab");
      expect(page.status).toBe(200);
      expect(page.text).toContain("--lab");
      expect(page.text).toContain("SESSIONKIT_LAB=1");
      expect(page.text).not.toContain('id="lab-copy"');
      // The start message says so too, and how to turn it on.
      expect(server.output()).toMatch(/storage lab +http:\S+\/lab +\(off: turn it on with --lab/);
    });
  });

  it("with --lab, the copy is a lab-only token: it works at the lab's route from anywhere, and nowhere else", async () => {
    await withServer(["--lab"], {}, async (server) => {
      const c = await signedIn(server.url);
      const page = await c.request("GET", "/lab");
      expect(page.text).toContain('id="lab-copy"');
      const me = await c.request("GET", "/api/id/me");
      const copy = await c.request("POST", "/api/lab/copy");
      expect(copy.status).toBe(200);
      expect(copy.headers.get("cache-control")).toBe("no-store");
      const token = copy.json.token as string;
      expect(typeof token).toBe("string");
      expect(token).not.toBe(c.jar.get("__Host-sid"));
      // From the attacker's machine: no cookies, no Origin, only the stolen token.
      const attacker = client(server.url, null);
      const bearer = { authorization: `Bearer ${token}` };
      const lab = await attacker.request("GET", "/api/lab/me", undefined, bearer);
      expect(lab.status).toBe(200);
      expect(lab.json.userId).toBe(me.json.user.id);
      for (const strategy of ["id", "jwt", "hybrid"]) {
        for (const path of ["me", "sessions"]) {
          const r = await attacker.request("GET", `/api/${strategy}/${path}`, undefined, bearer);
          expect(r.status, `${strategy}/${path}`).toBe(401);
        }
      }
      const asCookie = await attacker.request("GET", "/api/id/me", undefined, {
        cookie: `__Host-sid=${token}`,
      });
      expect(asCookie.status).toBe(401);
      // The real session is untouched, and the copy needs one, asked for from this origin.
      expect((await c.request("GET", "/api/id/me")).status).toBe(200);
      expect((await attacker.request("POST", "/api/lab/copy")).status).toBe(401);
      const crossSite = client(server.url, "https://evil.example");
      for (const [name, value] of c.jar) crossSite.jar.set(name, value);
      expect((await crossSite.request("POST", "/api/lab/copy")).status).toBe(403);
    });
  });

  it("with --lab, a jwt or hybrid user's copy is a lab token of their kind, refused everywhere but the lab", async () => {
    await withServer(["--lab"], {}, async (server) => {
      for (const strategy of ["jwt", "hybrid"]) {
        const c = await signedIn(server.url, strategy);
        const page = await c.request("GET", "/lab");
        expect(page.text).toContain('id="lab-copy"');
        expect(page.text).toContain(`You are signed in with <code>${strategy}</code>`);
        const me = await c.request("GET", `/api/${strategy}/me`);
        const copy = await c.request("POST", "/api/lab/copy");
        expect(copy.status, strategy).toBe(200);
        expect(copy.json.strategy).toBe(strategy);
        const token = copy.json.token as string;
        // A JWT, as the user's own token is, but signed with the lab's keys for its audience.
        expect(token.split(".")).toHaveLength(3);
        const attacker = client(server.url, null);
        const bearer = { authorization: `Bearer ${token}` };
        const lab = await attacker.request("GET", "/api/lab/me", undefined, bearer);
        expect(lab.status).toBe(200);
        expect(lab.json).toMatchObject({ userId: me.json.user.id, strategy });
        for (const s of ["id", "jwt", "hybrid"]) {
          const r = await attacker.request("GET", `/api/${s}/me`, undefined, bearer);
          expect(r.status, `${strategy} copy at ${s}/me`).toBe(401);
        }
        // Removing the copies revokes them: a copy already taken stops working.
        const removed = await c.request("DELETE", "/api/lab/copy");
        expect(removed.status).toBe(200);
        expect(removed.json.revoked).toBe(1);
        const after = await attacker.request("GET", "/api/lab/me", undefined, bearer);
        expect(after.status).toBe(401);
        expect((await c.request("GET", `/api/${strategy}/me`)).status).toBe(200);
      }
    });
  });

  it("SESSIONKIT_LAB turns it on as --lab does; anything but a yes or a no is refused at start", () => {
    expect(resolveServerConfig({}, {}).lab).toBe(false);
    expect(resolveServerConfig({ lab: true }, {}).lab).toBe(true);
    for (const on of ["1", "true", "yes", "on"]) {
      expect(resolveServerConfig({}, { SESSIONKIT_LAB: on }).lab, on).toBe(true);
    }
    for (const off of ["", "0", "false", "no", "off"]) {
      expect(resolveServerConfig({}, { SESSIONKIT_LAB: off }).lab, off).toBe(false);
    }
    expect(() => resolveServerConfig({}, { SESSIONKIT_LAB: "maybe" })).toThrow(SessionError);
  });
});
