import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { requireSession } from "../../src/adapters/fetch.js";
import { createSessionClient, memoryTokens } from "../../src/client/index.js";
import { createSessionManager, generateKeySet } from "../../src/index.js";
import { memoryStore } from "../../src/stores/memory/index.js";
import { manualClock } from "../helpers/manager.js";
import { type ServerProcess, startServerProcess } from "../helpers/server.js";
import { tempDir } from "../helpers/tmp.js";

// sessionkit/client outside a browser, against the real reference server: header transport,
// two clients sharing one token storage as two tabs share localStorage. Node has
// BroadcastChannel but no Web Locks, so this is the fallback path; Chromium's Web Locks path
// runs in browser.e2e.test.ts.
const PASSWORD = "correct horse battery";
let server: ServerProcess;

beforeAll(async () => {
  server = await startServerProcess(tempDir(), ["--access", "2s"]);
  const r = await fetch(`${server.url}/api/users`, {
    method: "POST",
    headers: { origin: server.url, "content-type": "application/json" },
    body: JSON.stringify({ username: "client-user", password: PASSWORD }),
  });
  expect(r.status).toBe(201);
});
afterAll(async () => {
  await server?.stop();
});

async function signIn() {
  const r = await fetch(`${server.url}/api/hybrid/login`, {
    method: "POST",
    headers: { origin: server.url, "content-type": "application/json" },
    body: JSON.stringify({ username: "client-user", password: PASSWORD, transport: "header" }),
  });
  return (await r.json()) as { accessToken: string; refreshToken: string };
}

/** Real fetch, counting the refreshes sent; they leave after `latencyMs`, as over a network. */
function countingFetch(latencyMs = 0) {
  const counter = { refreshes: 0 };
  const f: typeof fetch = async (input, init) => {
    if (String(input).endsWith("/api/hybrid/refresh")) {
      counter.refreshes++;
      await sleep(latencyMs);
    }
    return fetch(input, init);
  };
  return { f, counter };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("sessionkit/client", () => {
  it("refreshes once for two tabs that both need it, and both stay signed in", async () => {
    const tokens = memoryTokens(); // shared, as localStorage is between tabs
    // 100 ms of latency: b asks while a's refresh is still on its way.
    const { f, counter } = countingFetch(100);
    const channel = `test-${Math.random()}`;
    const options = {
      baseUrl: server.url,
      strategy: "hybrid" as const,
      tokens,
      fetch: f,
      channel,
      accessLifetimeMs: 60_000, // no proactive refresh during the test
    };
    const a = createSessionClient(options);
    const b = createSessionClient(options);
    a.signedIn(await signIn());
    await sleep(1100); // past the window in which a sign-in counts as a fresh refresh
    const before = tokens.get("refresh");
    const first = a.refresh();
    await sleep(20); // b hears a's "refreshing" and waits for it instead of refreshing too
    const second = b.refresh();
    expect([await first, await second]).toEqual([true, true]);
    expect(counter.refreshes).toBe(1);
    expect(tokens.get("refresh")).not.toBe(before);
    // No reuse detection was set off: both tabs carry on, and the next refresh works too.
    expect((await a.fetch("/api/hybrid/me")).status).toBe(200);
    expect((await b.fetch("/api/hybrid/me")).status).toBe(200);
    await sleep(1100); // past the window in which a refresh counts as just done
    expect(await b.refresh()).toBe(true);
    expect(counter.refreshes).toBe(2);
    expect((await a.fetch("/api/hybrid/me")).status).toBe(200);
    a.close();
    b.close();
  });

  it("on 401 session_expired, refreshes and retries the request once", async () => {
    const tokens = memoryTokens();
    const { f, counter } = countingFetch();
    const client = createSessionClient({
      baseUrl: server.url,
      strategy: "hybrid",
      tokens,
      fetch: f,
      channel: `test-${Math.random()}`,
      accessLifetimeMs: 10 * 60_000, // no refresh ahead of time: only the 401 triggers one
    });
    client.signedIn(await signIn());
    // A second tab-less client signs out after the same lapse (its own session).
    const leaving = createSessionClient({
      baseUrl: server.url,
      strategy: "hybrid",
      tokens: memoryTokens(),
      channel: `test-${Math.random()}`,
      accessLifetimeMs: 10 * 60_000,
    });
    const leavingTokens = await signIn();
    leaving.signedIn(leavingTokens);
    // The 2 s access token, past the verifier's 30 s tolerance for clock skew.
    await sleep(33_000);
    const direct = await fetch(`${server.url}/api/hybrid/me`, {
      headers: { authorization: `Bearer ${tokens.get("access")}` },
    });
    expect(direct.status).toBe(401);
    expect(((await direct.json()) as { code: string }).code).toBe("session_expired");
    expect((await client.fetch("/api/hybrid/me")).status).toBe(200);
    expect(counter.refreshes).toBe(1);
    client.close();
    // Sign-out with the lapsed access token ends that session: its refresh token is dead.
    await leaving.signOut("/api/hybrid/logout");
    const revived = await fetch(`${server.url}/api/hybrid/refresh`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ refreshToken: leavingTokens.refreshToken }),
    });
    expect(revived.status).toBe(401);
    leaving.close();
  }, 60_000);

  it("announces a sign-out to every tab and forgets the tokens", async () => {
    const tokens = memoryTokens();
    const channel = `test-${Math.random()}`;
    const options = { baseUrl: server.url, strategy: "hybrid" as const, tokens, channel };
    const a = createSessionClient(options);
    const b = createSessionClient(options);
    a.signedIn(await signIn());
    expect((await b.fetch("/api/hybrid/me")).status).toBe(200);
    const heard = new Promise<string>((resolve) => b.onSignOut(() => resolve("signed out")));
    await a.signOut("/api/hybrid/logout");
    expect(await heard).toBe("signed out");
    expect(tokens.get("access")).toBeNull();
    expect((await b.fetch("/api/hybrid/me")).status).toBe(401);
    a.close();
    b.close();
  });
});

describe("sessionkit/client and other origins", () => {
  // Another origin (another port of 127.0.0.1) that records what reaches it and answers every
  // request as an expired session would, to show that no refresh follows.
  const seen: IncomingHttpHeaders[] = [];
  const other = createServer((req, res) => {
    seen.push(req.headers);
    res.writeHead(401, { "content-type": "application/problem+json" });
    res.end(JSON.stringify({ code: "session_expired" }));
  });
  let otherUrl = "";
  beforeAll(async () => {
    await new Promise<void>((resolve) => other.listen(0, "127.0.0.1", resolve));
    otherUrl = `http://127.0.0.1:${(other.address() as AddressInfo).port}`;
    // A page served by the reference server: relative paths resolve against it.
    vi.stubGlobal("location", new URL(`${server.url}/`));
  });
  afterAll(async () => {
    vi.unstubAllGlobals();
    await new Promise((resolve) => other.close(resolve));
  });

  /** fetch as a page has it: relative URLs are the page's own. */
  const pageFetch = () => {
    const counter = { refreshes: 0 };
    const f: typeof fetch = (input, init) => {
      const url = new URL(String(input), `${server.url}/`);
      if (url.pathname === "/api/hybrid/refresh") counter.refreshes++;
      return fetch(url, init);
    };
    return { f, counter };
  };

  it("sends neither the Bearer token nor the CSRF header to another origin, and never refreshes for its 401", async () => {
    const { f, counter } = pageFetch();
    const client = createSessionClient({
      strategy: "hybrid",
      tokens: memoryTokens(),
      fetch: f,
      channel: `test-${Math.random()}`,
      accessLifetimeMs: 10 * 60_000,
    });
    client.signedIn(await signIn());
    await sleep(1100); // past the window in which a sign-in counts as a fresh refresh
    seen.length = 0;
    const posted = await client.fetch(`${otherUrl}/collect`, { method: "POST", body: "x" });
    expect(posted.status).toBe(401);
    expect(seen[0]?.authorization).toBeUndefined();
    expect(seen[0]?.["x-csrf-token"]).toBeUndefined();
    expect(counter.refreshes).toBe(0);
    expect(seen).toHaveLength(1);
    // The page's own origin still gets them.
    expect((await client.fetch("/api/hybrid/me")).status).toBe(200);
    client.close();
  });

  it("sends them to an origin listed in `origins`", async () => {
    const { f } = pageFetch();
    const client = createSessionClient({
      strategy: "hybrid",
      tokens: memoryTokens(),
      fetch: f,
      origins: [otherUrl],
      channel: `test-${Math.random()}`,
      accessLifetimeMs: 10 * 60_000,
    });
    const tokens = await signIn();
    client.signedIn(tokens);
    seen.length = 0;
    await client.fetch(`${otherUrl}/api`, { method: "POST", body: "x" });
    expect(seen[0]?.authorization).toBe(`Bearer ${tokens.accessToken}`);
    expect(seen[0]?.["x-csrf-token"]).toEqual(expect.any(String));
    client.close();
  });
});

describe("sessionkit/client sign-out against a server that wants a live access token", () => {
  it("refreshes and retries the sign-out on 401 session_expired, and the session ends", async () => {
    const clock = manualClock();
    const manager = createSessionManager({
      strategy: "hybrid",
      store: memoryStore(),
      keys: generateKeySet(),
      issuer: "https://api.test",
      audience: "api",
      clock: clock.now,
      cleanup: false,
    });
    // An application's own routes, as the fetch adapter documents them: sign-out behind
    // requireSession, which answers a lapsed access token with 401 session_expired.
    const logout = requireSession(manager, async (request) => {
      const { headers } = await manager.logout(request);
      return new Response(null, { status: 204, headers });
    });
    const statuses: string[] = [];
    const app: typeof fetch = async (input, init) => {
      const request = new Request(String(input), init);
      const path = new URL(request.url).pathname;
      if (path === "/api/csrf") return Response.json({ token: manager.csrfToken(null).token });
      let response: Response;
      if (path === "/refresh") {
        const body = (await request.json()) as { refreshToken: string };
        const result = await manager.refresh(request, body);
        response = result.session
          ? Response.json({ accessToken: result.accessToken, refreshToken: result.refreshToken })
          : Response.json({}, { status: 401 });
      } else {
        response = await logout(request);
      }
      statuses.push(`${path} ${response.status}`);
      return response;
    };
    const issued = await manager.create({ userId: "u1", transport: "header" });
    const client = createSessionClient({
      baseUrl: "https://api.test",
      strategy: "hybrid",
      tokens: memoryTokens(),
      fetch: app,
      refreshPath: "/refresh",
      channel: `test-${Math.random()}`,
      accessLifetimeMs: 10 * 60_000,
    });
    client.signedIn({ accessToken: issued.token, refreshToken: issued.refreshToken ?? "" });
    await sleep(1100); // past the window in which a sign-in counts as a fresh refresh
    clock.advance(6 * 60_000); // the access token lapsed
    await client.signOut("/logout");
    expect(statuses).toEqual(["/logout 401", "/refresh 200", "/logout 204"]);
    expect(await manager.get(issued.session.id)).toBeNull();
    client.close();
    manager.close();
  });
});
