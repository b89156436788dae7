import { existsSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { type Browser, type BrowserContext, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  challengeHeader,
  type DbscAlgorithm,
  generateChallenge,
  readProof,
  readSessionIdentifier,
  registrationHeader,
} from "../../src/dbsc/headers.js";
import { sessionInstructions } from "../../src/dbsc/instructions.js";
import {
  type ChallengeReplayCache,
  type DbscPublicJwk,
  verifyRefreshProof,
  verifyRegistrationProof,
} from "../../src/dbsc/proof.js";
import { tempDir } from "../helpers/tmp.js";
import { localhostTls, onPath } from "./trusted-tls.js";

// DBSC with a real browser: Debian's Chromium, software keys in place of a TPM, against a
// minimal server built on src/dbsc in this file. Chromium registers only over HTTPS with a
// certificate it trusts (plain http://localhost and --ignore-certificate-errors register
// nothing), so each run makes a throwaway CA (openssl) and trusts it in an NSS database under
// the browser's HOME (certutil, Debian's libnss3-tools). Without those tools the tests are
// skipped with one line, except under CI=true, where that is a failure.
const CHROMIUM = "/usr/bin/chromium";
const missing = [
  existsSync(CHROMIUM) ? null : CHROMIUM,
  onPath("openssl") ? null : "openssl",
  onPath("certutil") ? null : "certutil (libnss3-tools)",
].filter((tool) => tool !== null);
if (missing.length > 0) {
  const message = `DBSC browser tests need ${missing.join(", ")}`;
  if (process.env.CI) throw new Error(`${message}, and CI requires them`);
  console.warn(`skipping: ${message}`);
}

const FEATURES = [
  "DeviceBoundSessions:ForceEnableForTesting/true", // no origin trial token needed
  "EnableBoundSessionCredentialsSoftwareKeysForManualTesting", // software keys, no TPM
].join(",");
const BOUND = "__Host-sid";
const LIFETIME_S = 2; // the bound cookie's Max-Age: short, so the tests watch it lapse

/** One request the server saw, and what it made of it. */
interface Seen {
  path: string;
  status: number;
  session?: string;
  cookie?: string;
  origin?: string;
  proof?: { ok: boolean; code?: string; algorithm?: string; challenge?: string };
}

interface BoundSession {
  key: DbscPublicJwk;
  challenges: string[];
  cookies: string[];
}

/** The minimal DBSC server: login, registration, refresh, and a page that shows the cookie. */
function dbscServer(tls: { cert: Buffer; key: Buffer }) {
  const seen: Seen[] = [];
  const pending = new Set<string>();
  const sessions = new Map<string, BoundSession>();
  const used = new Set<string>();
  const replay: ChallengeReplayCache = {
    use(challenge) {
      if (used.has(challenge)) return false;
      used.add(challenge);
      return true;
    },
  };
  const instructions = sessionInstructions({
    refreshUrl: "/dbsc/refresh",
    cookies: [
      { name: BOUND, attributes: { path: "/", secure: true, httpOnly: true, sameSite: "lax" } },
    ],
  });
  let counter = 0;
  const boundCookie = (value: string, maxAge: number) =>
    `${BOUND}=${value}; Path=/; Max-Age=${maxAge}; HttpOnly; Secure; SameSite=Lax`;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<Seen> {
    const url = new URL(req.url ?? "/", "https://localhost");
    const request = {
      headers: {
        get(name: string) {
          const value = req.headers[name.toLowerCase()];
          return value === undefined ? null : Array.isArray(value) ? value.join(", ") : value;
        },
      },
    };
    const cookie = /(?:^|;\s*)__Host-sid=([^;]*)/.exec(req.headers.cookie ?? "")?.[1];
    const entry: Seen = { path: url.pathname, status: 200, cookie, origin: req.headers.origin };
    const answer = (status: number, headers: Record<string, string>, body = "") => {
      entry.status = status;
      res.writeHead(status, { "cache-control": "no-store", ...headers }).end(body);
      return entry;
    };
    if (url.pathname === "/") return answer(200, { "content-type": "text/html" }, "<p>home</p>");
    if (url.pathname === "/login" && req.method === "POST") {
      const challenge = generateChallenge();
      pending.add(challenge);
      const algorithms = (url.searchParams.get("alg")?.split(",") ?? [
        "ES256",
        "RS256",
      ]) as DbscAlgorithm[];
      const path = `/dbsc/register${url.searchParams.has("early") ? "?early=1" : ""}`;
      return answer(200, {
        "set-cookie": boundCookie(`login-${++counter}`, 600),
        "secure-session-registration": registrationHeader({ path, challenge, algorithms }),
      });
    }
    if (url.pathname === "/dbsc/register" && req.method === "POST") {
      const result = await verifyRegistrationProof(readProof(request), {
        challenge: [...pending],
        replay,
      });
      entry.proof = result.ok
        ? { ok: true, algorithm: result.algorithm, challenge: result.challenge }
        : { ok: false, code: result.code };
      if (!result.ok) return answer(400, {});
      pending.delete(result.challenge);
      const id = `s${++counter}`;
      const value = `bound-${id}-${++counter}`;
      const session: BoundSession = { key: result.jwk, challenges: [], cookies: [value] };
      sessions.set(id, session);
      entry.session = id;
      const headers: Record<string, string> = {
        "content-type": "application/json",
        "set-cookie": boundCookie(value, LIFETIME_S),
      };
      if (url.searchParams.has("early")) {
        // The challenge for the first refresh, given now: Chrome signs it without a 403.
        const early = generateChallenge();
        session.challenges = [early];
        headers["secure-session-challenge"] = challengeHeader(early, id);
      }
      return answer(200, headers, JSON.stringify(instructions(id)));
    }
    if (url.pathname === "/dbsc/refresh" && req.method === "POST") {
      const id = readSessionIdentifier(request);
      const session = id === null ? undefined : sessions.get(id);
      entry.session = id ?? undefined;
      if (!id || !session) return answer(400, {});
      const proof = readProof(request);
      if (proof !== null) {
        const result = await verifyRefreshProof(proof, {
          key: session.key,
          challenge: session.challenges,
          replay,
        });
        entry.proof = result.ok
          ? { ok: true, algorithm: result.algorithm, challenge: result.challenge }
          : { ok: false, code: result.code };
        if (result.ok) {
          session.challenges = [];
          const value = `bound-${id}-${++counter}`;
          session.cookies.push(value);
          return answer(200, { "set-cookie": boundCookie(value, LIFETIME_S) });
        }
      }
      // No proof, or one that does not hold (Chrome re-sends a proof it already used when
      // it refreshes ahead of time): a fresh challenge. Any other 4xx would end the session.
      const challenge = generateChallenge();
      session.challenges = [challenge];
      return answer(403, { "secure-session-challenge": challengeHeader(challenge, id) });
    }
    if (url.pathname === "/protected")
      return answer(200, { "content-type": "text/plain" }, cookie ?? "");
    return answer(404, {});
  }

  const server: Server = createServer(tls, (req, res) => {
    req.resume();
    req.on("end", () => {
      handle(req, res).then(
        (entry) => seen.push(entry),
        (error: unknown) => {
          seen.push({ path: "error", status: 500, proof: { ok: false, code: String(error) } });
          res.writeHead(500).end();
        },
      );
    });
  });
  return { server, seen, sessions };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
async function waitFor<T>(read: () => T | undefined, what: string, ms = 10_000): Promise<T> {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(50)) {
    const value = read();
    if (value !== undefined) return value;
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe.skipIf(missing.length > 0)("DBSC in Chromium, against src/dbsc", () => {
  let browser: Browser;
  let origin: string;
  let state: ReturnType<typeof dbscServer>;
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    const dir = tempDir("sessionkit-dbsc-");
    const home = join(dir, "home");
    state = dbscServer(localhostTls(dir, home));
    await new Promise<void>((resolve) => state.server.listen(0, "127.0.0.1", resolve));
    origin = `https://localhost:${(state.server.address() as AddressInfo).port}`;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        `--enable-features=${FEATURES}`,
      ],
      env: { ...process.env, HOME: home },
    });
  });
  afterAll(async () => {
    for (const context of contexts) await context.close().catch(() => {});
    await browser?.close();
    await new Promise((resolve) => state?.server.close(resolve));
  });

  async function signIn(query = "") {
    const context = await browser.newContext();
    contexts.push(context);
    const page = await context.newPage();
    await page.goto(`${origin}/`);
    const before = state.seen.length;
    await page.evaluate(
      (q) => fetch(`/login${q}`, { method: "POST" }).then((r) => r.status),
      query,
    );
    const registration = await waitFor(
      () => state.seen.slice(before).find((s) => s.path === "/dbsc/register"),
      "the registration request",
    );
    return { context, page, registration };
  }
  const readCookie = (page: Awaited<ReturnType<typeof signIn>>["page"]) =>
    page.evaluate(() => fetch("/protected").then((r) => r.text()));

  it("registers an ES256 key and renews the lapsed cookie through a 403 challenge", async () => {
    const { page, registration } = await signIn();
    expect(registration).toMatchObject({
      status: 200,
      origin,
      proof: { ok: true, algorithm: "ES256" },
    });
    expect(registration.cookie).toMatch(/^login-/); // the login cookie came with it
    const id = registration.session ?? "";
    const session = state.sessions.get(id);
    const from = state.seen.length;

    await sleep(LIFETIME_S * 1000 + 1000);
    const sent = await readCookie(page);

    // The page's request was held until a refresh set a cookie this server issued: first a
    // 403 with a challenge (no proof yet), then the challenge signed by the registered key.
    expect(session?.cookies.slice(1)).toContain(sent);
    const refreshes = state.seen.slice(from).filter((s) => s.path === "/dbsc/refresh");
    const renewed = refreshes.findIndex((s) => s.status === 200);
    expect(
      refreshes.slice(0, renewed + 1).map((s) => [s.session, s.status, s.proof?.ok ?? "none"]),
    ).toEqual([
      [id, 403, "none"],
      [id, 200, true],
    ]);
  }, 30_000);

  it("signs with RS256 when only RS256 is offered, and answers an early challenge without a 403", async () => {
    const { page, registration } = await signIn("?alg=RS256&early=1");
    expect(registration).toMatchObject({ status: 200, proof: { ok: true, algorithm: "RS256" } });
    const id = registration.session ?? "";
    const early = state.sessions.get(id)?.challenges[0];
    const from = state.seen.length;

    await sleep(LIFETIME_S * 1000 + 1000);
    await readCookie(page);

    const first = state.seen.slice(from).find((s) => s.path === "/dbsc/refresh");
    expect(first).toMatchObject({
      status: 200,
      session: id,
      proof: { ok: true, algorithm: "RS256", challenge: early },
    });
  }, 30_000);

  it("a copy of the cookie in another browser works until it lapses, then is never renewed", async () => {
    const { context, page, registration } = await signIn();
    const id = registration.session ?? "";
    const stolen = (await context.cookies()).find((c) => c.name === BOUND);
    expect(stolen?.value).toMatch(/^bound-/);
    await page.close();
    await context.close(); // the victim's browser goes away: nothing refreshes ahead of time

    const attacker = await browser.newContext();
    contexts.push(attacker);
    if (stolen) await attacker.addCookies([stolen]);
    const page2 = await attacker.newPage();
    await page2.goto(`${origin}/`);
    expect(await readCookie(page2)).toBe(stolen?.value);

    const from = state.seen.length;
    await sleep(LIFETIME_S * 1000 + 1000);
    expect(await readCookie(page2)).toBe("");
    const refreshes = state.seen.slice(from).filter((s) => s.path === "/dbsc/refresh");
    expect(refreshes.filter((s) => s.session === id)).toEqual([]);
  }, 30_000);
});
