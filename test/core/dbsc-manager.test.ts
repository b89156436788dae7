import { describe, expect, it } from "vitest";
import { createSessionManager } from "../../src/index.js";
import { memoryStore } from "../../src/stores/memory/index.js";
import type { SessionStore } from "../../src/stores/types.js";
import { generateKeySet } from "../../src/tokens/keys.js";
import {
  type Browser,
  browserKey,
  challengeIn,
  cookieOf,
  dbscProof,
} from "../helpers/dbsc-browser.js";

// DBSC through the session manager, with the browser's side played by jose: registration
// binds the session to the key, the cookie then lives one refresh interval, and only a proof
// from that key renews it.
const ORIGIN = "https://app.example";
const MINUTE = 60_000;

function setup(store: SessionStore = memoryStore()) {
  let now = Date.UTC(2026, 10, 27, 12);
  const failures: Array<{ stage: string; reason: string }> = [];
  const manager = createSessionManager({
    strategy: "id",
    store,
    cleanup: false,
    clock: () => now,
    lifetimes: { grace: "5s" },
    csrf: { origins: [ORIGIN] },
    deviceBound: {
      registrationPath: "/dbsc/register",
      refreshPath: "/dbsc/refresh",
      refreshInterval: "1m",
    },
    events: { onDeviceBindingFailure: (e) => failures.push(e) },
  });
  return { manager, failures, advance: (ms: number) => (now += ms), now: () => now };
}

type Manager = ReturnType<typeof setup>["manager"];

type Key = Browser;

const proof = dbscProof;

const post = (path: string, headers: Record<string, string>) =>
  new Request(ORIGIN + path, { method: "POST", headers: { origin: ORIGIN, ...headers } });
const get = (cookie: string) => new Request(`${ORIGIN}/me`, { headers: { cookie } });

/** Signs in and registers `key` as the browser would; the bound cookie and the session id. */
async function signInBound(manager: Manager, key: Key) {
  const issued = await manager.create({ userId: "alice", transport: "cookie" });
  const challenge = challengeIn(issued.headers.get("secure-session-registration"));
  expect(challenge).not.toBe("");
  const answer = await manager.registerDevice(
    post("/dbsc/register", {
      cookie: cookieOf(issued.headers),
      "secure-session-response": await proof(key, challenge, true),
    }),
  );
  return { issued, answer, cookie: cookieOf(answer.headers) };
}

/** The refresh a browser runs: ask, get a challenge, answer it with a proof. */
async function refreshWith(manager: Manager, sessionId: string, key: Key) {
  const asked = await manager.refreshDevice(
    post("/dbsc/refresh", { "sec-secure-session-id": sessionId }),
  );
  expect(asked.status).toBe(403);
  const challenge = /^"([^"]+)"/.exec(asked.headers.get("secure-session-challenge") ?? "")?.[1];
  return manager.refreshDevice(
    post("/dbsc/refresh", {
      "sec-secure-session-id": sessionId,
      "secure-session-response": await proof(key, challenge ?? "", false),
    }),
  );
}

describe("DBSC: device-bound id sessions", () => {
  it("offers registration at a cookie sign-in, binds the key, and answers the session instructions", async () => {
    const { manager } = setup();
    const key = await browserKey();
    const { issued, answer, cookie } = await signInBound(manager, key);
    expect(issued.headers.get("secure-session-registration")).toMatch(
      /^\(ES256 RS256\);path="\/dbsc\/register";challenge="/,
    );
    expect(answer.status).toBe(200);
    const body = JSON.parse(answer.body ?? "{}");
    expect(body.session_identifier).toBe(issued.session.id);
    expect(body.refresh_url).toBe("/dbsc/refresh");
    expect(body.credentials[0].name).toBe("__Host-sid");
    expect(answer.headers.getSetCookie()[0]).toMatch(/Max-Age=60;/);
    const me = await manager.authenticate(get(cookie));
    expect(me.session?.deviceBound).toBe(true);
    expect((await manager.list("alice"))[0]?.deviceBound).toBe(true);
  });

  it("lets a bound cookie die after its interval, and renews it only with a proof from the key", async () => {
    const { manager, advance, failures } = setup();
    const key = await browserKey();
    const thief = await browserKey();
    const { issued, cookie } = await signInBound(manager, key);
    advance(MINUTE + 6000);
    expect((await manager.authenticate(get(cookie))).failure?.reason).toBe("device_unproven");

    const stolen = await refreshWith(manager, issued.session.id, thief);
    expect(stolen.status).toBe(401);
    expect(failures.at(-1)).toMatchObject({ stage: "refresh", reason: "bad_signature" });

    const renewed = await refreshWith(manager, issued.session.id, key);
    expect(renewed.status).toBe(200);
    const fresh = cookieOf(renewed.headers);
    expect((await manager.authenticate(get(fresh))).session?.userId).toBe("alice");
    // The cookie copied before the refresh: a request in flight may use it for the grace, and
    // it gets no successor; past the grace it is dead.
    const inGrace = await manager.authenticate(get(cookie));
    expect(inGrace.headers.getSetCookie()).toEqual([]);
    advance(6000);
    expect((await manager.authenticate(get(cookie))).session).toBeNull();
    expect((await manager.authenticate(get(fresh))).session?.userId).toBe("alice");
  });

  it("keeps a copied bound cookie from being renewed by the normal renewal", async () => {
    const { manager, advance } = setup();
    const key = await browserKey();
    const { cookie } = await signInBound(manager, key);
    // Within the interval, every request works and none hands out a new cookie.
    for (let i = 0; i < 5; i++) {
      advance(10_000);
      const result = await manager.authenticate(get(cookie));
      expect(result.session?.userId).toBe("alice");
      expect(result.headers.getSetCookie()).toEqual([]);
    }
  });

  it("refuses a replayed challenge, a second registration, and the cookie from before registration", async () => {
    const { manager, advance } = setup();
    const key = await browserKey();
    const { issued } = await signInBound(manager, key);
    const again = await manager.registerDevice(
      post("/dbsc/register", {
        cookie: cookieOf(issued.headers),
        "secure-session-response": await proof(
          key,
          challengeIn(issued.headers.get("secure-session-registration")),
          true,
        ),
      }),
    );
    expect(again.status).not.toBe(200);
    advance(6000);
    expect((await manager.authenticate(get(cookieOf(issued.headers)))).session).toBeNull();

    const asked = await manager.refreshDevice(
      post("/dbsc/refresh", { "sec-secure-session-id": issued.session.id }),
    );
    const challenge = /^"([^"]+)"/.exec(asked.headers.get("secure-session-challenge") ?? "")?.[1];
    const answer = await proof(key, challenge ?? "", false);
    const headers = {
      "sec-secure-session-id": issued.session.id,
      "secure-session-response": answer,
    };
    expect((await manager.refreshDevice(post("/dbsc/refresh", headers))).status).toBe(200);
    // A spent challenge renews nothing; Chrome re-sends one when it refreshes early, and any
    // 4xx but a challenge would make it drop the session: a fresh challenge.
    const replayed = await manager.refreshDevice(post("/dbsc/refresh", headers));
    expect(replayed.status).toBe(403);
    expect(replayed.headers.getSetCookie()).toEqual([]);
    expect(replayed.headers.get("secure-session-challenge")).toMatch(/^"[^"]+";id="/);
  });

  it("leaves a browser that does not register as it was, renewal included", async () => {
    const { manager, advance } = setup();
    const issued = await manager.create({ userId: "alice", transport: "cookie" });
    advance(2 * MINUTE);
    const result = await manager.authenticate(get(cookieOf(issued.headers)));
    expect(result.session?.deviceBound).toBe(false);
    expect(result.session?.userId).toBe("alice");
  });

  it("refuses a bound session's token over the header transport", async () => {
    const { manager } = setup();
    const key = await browserKey();
    const { cookie } = await signInBound(manager, key);
    const token = cookie.split("=")[1] ?? "";
    const result = await manager.authenticate(
      new Request(`${ORIGIN}/me`, { headers: { authorization: `Bearer ${token}` } }),
    );
    expect(result.failure?.reason).toBe("device_unproven");
  });

  it("refuses configurations it cannot honour", () => {
    const base = { store: memoryStore(), cleanup: false as const };
    const deviceBound = { registrationPath: "/r", refreshPath: "/f" };
    expect(() =>
      createSessionManager({ ...base, strategy: "id", deviceBound, transports: ["header"] }),
    ).toThrow(/cookie/);
    expect(() =>
      createSessionManager({
        ...base,
        strategy: "id",
        deviceBound: { ...deviceBound, refreshPath: "no-slash" },
      }),
    ).toThrow(/refreshPath/);
    expect(() =>
      createSessionManager({
        ...base,
        strategy: "id",
        deviceBound: { ...deviceBound, refreshInterval: "5s" },
      }),
    ).toThrow(/refreshInterval/);
    expect(() =>
      createSessionManager({
        ...base,
        strategy: "jwt",
        keys: generateKeySet(),
        issuer: ORIGIN,
        audience: "app",
        deviceBound,
      }),
    ).toThrow(/not jwt/);
  });
});

describe("DBSC: device-bound hybrid sessions (the refresh cookie)", () => {
  function hybridSetup() {
    let now = Date.UTC(2026, 10, 27, 12);
    const manager = createSessionManager({
      strategy: "hybrid",
      store: memoryStore(),
      cleanup: false,
      clock: () => now,
      keys: generateKeySet(),
      issuer: ORIGIN,
      audience: "app",
      lifetimes: { grace: "5s", access: "1m" },
      csrf: { origins: [ORIGIN] },
      deviceBound: {
        registrationPath: "/dbsc/register",
        refreshPath: "/dbsc/refresh",
        refreshInterval: "1m",
      },
    });
    return { manager, advance: (ms: number) => (now += ms) };
  }
  type Jar = Map<string, string>;
  const keep = (jar: Jar, headers: Headers) => {
    for (const line of headers.getSetCookie()) {
      const [pair = ""] = line.split(";");
      const eq = pair.indexOf("=");
      jar.set(pair.slice(0, eq), pair.slice(eq + 1));
    }
  };
  const cookies = (jar: Jar) => [...jar].map(([k, v]) => `${k}=${v}`).join("; ");
  const refresh = (m: Manager, jar: Jar) =>
    m.refresh(post("/api/hybrid/refresh", { cookie: cookies(jar) }));

  it("binds the refresh cookie: it lives the interval, refreshes issue access tokens without renewing it, only a proof does", async () => {
    const { manager, advance } = hybridSetup();
    const key = await browserKey();
    const issued = await manager.create({ userId: "alice", transport: "cookie" });
    const jar: Jar = new Map();
    keep(jar, issued.headers);
    const stale = jar.get("__Secure-rt") ?? "";
    const challenge = challengeIn(issued.headers.get("secure-session-registration"));
    expect(challenge).not.toBe("");
    // The registration request carries the cookies of its path: access and binding, not rt.
    const sent = new Map(jar);
    sent.delete("__Secure-rt");
    const registered = await manager.registerDevice(
      post("/dbsc/register", {
        cookie: cookies(sent),
        "secure-session-response": await proof(key, challenge, true),
      }),
    );
    expect(registered.status).toBe(200);
    const body = JSON.parse(registered.body ?? "{}");
    expect(body.credentials[0].name).toBe("__Secure-rt");
    expect(registered.headers.getSetCookie()[0]).toMatch(/^__Secure-rt=.*Max-Age=60;/);
    keep(jar, registered.headers);
    expect((await manager.list("alice"))[0]?.deviceBound).toBe(true);

    advance(20_000);
    const first = await refresh(manager, jar);
    expect(first.accessToken).toBeTruthy();
    // Its access tokens say the session is device-bound.
    keep(jar, first.headers);
    const me = await manager.authenticate(
      new Request(`${ORIGIN}/me`, { headers: { cookie: cookies(jar) } }),
    );
    expect(me.session?.deviceBound).toBe(true);
    // No new refresh cookie: the bound one keeps the life its proof gave it.
    expect(first.headers.getSetCookie().some((c) => c.startsWith("__Secure-rt="))).toBe(false);

    advance(MINUTE);
    expect((await refresh(manager, jar)).failure?.reason).toBe("device_unproven");
    // A copy from before registration: refused, and the session is not revoked for it.
    const copy = new Map(jar);
    copy.set("__Secure-rt", stale);
    expect((await refresh(manager, copy)).session).toBeNull();
    expect(await manager.get(issued.session.id)).not.toBeNull();

    const renewed = await refreshWith(manager, issued.session.id, key);
    expect(renewed.status).toBe(200);
    keep(jar, renewed.headers);
    expect((await refresh(manager, jar)).accessToken).toBeTruthy();
    manager.close();
  });
});
