import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSessionClient, memoryTokens } from "../src/client/index.js";
import { type ServerProcess, startServerProcess } from "./helpers/server.js";
import { tempDir } from "./helpers/tmp.js";

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
