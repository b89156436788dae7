import { randomBytes } from "node:crypto";
import { createSessionManager, type JwkSet, type SessionStore } from "../../src/index.js";
import { type AppOptions, createApp } from "../../src/server/app.js";
import type { Env } from "../../src/server/http.js";
import { hashPassword } from "../../src/server/passwords.js";
import type { UserStore } from "../../src/server/users.js";
import {
  type Answer,
  boundCsrf,
  endedViolations,
  isUnsafe,
  leakViolations,
  presentsCredential,
  presentsLive,
  presentsRefresh,
  problemViolations,
  sameOriginProof,
} from "./fuzz-oracle.js";
import { TokenPool } from "./fuzz-pool.js";
import { type Strategy, strategyOfPath, type Target } from "./request-arbitrary.js";
import { type RenderedRequest, toRequest } from "./request-render.js";

/**
 * The reference server's app in process (as `serve.ts` builds it: three strategies on one
 * store, the inspector, a log the test reads), with an attacker and a victim signed up, and
 * what its answers must never be.
 */

export const ORIGIN = "http://app.test";
export const STRATEGIES: Strategy[] = ["id", "jwt", "hybrid"];
const PUBLIC_JWK = new Set(["kty", "kid", "alg", "use", "crv", "x", "y", "n", "e"]);

export async function referenceApp(
  store: SessionStore,
  users: UserStore,
  keys: JwkSet,
  options: Pick<AppOptions, "trustProxy"> = {},
) {
  const common = {
    store,
    keys,
    issuer: ORIGIN,
    csrf: { origins: [ORIGIN] },
    cleanup: false as const,
  };
  const audience = (s: Strategy) => `${ORIGIN}/api/${s}`;
  const managers = {
    id: createSessionManager({ ...common, strategy: "id" }),
    jwt: createSessionManager({ ...common, strategy: "jwt", audience: audience("jwt") }),
    hybrid: createSessionManager({ ...common, strategy: "hybrid", audience: audience("hybrid") }),
  };
  // As serve.ts does before it opens its port: until the store's feed has replayed, the
  // jwt and hybrid verifiers rightly refuse everything (503).
  for (const deadline = Date.now() + 5000; (store.feedLag?.() ?? 0) > 1000; ) {
    if (Date.now() > deadline) throw new Error("the store's feed did not become current in 5 s");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  const logs: string[] = [];
  const app = createApp({
    managers,
    store,
    users,
    keys,
    scryptLog2N: 10,
    // The properties probe requests, not the sign-in limiter.
    loginLimits: { perUser: 1e9, perAddress: 1e9, windowMs: 60_000 },
    inspect: { issuer: ORIGIN, audiences: [audience("jwt"), audience("hybrid")] },
    lab: true,
    ...options,
    log: (line) => logs.push(line),
  });
  const tag = randomBytes(4).toString("hex");
  const password = `correct horse ${tag}`;
  const person = async (name: string, secret: string) => {
    const user = await users.create(name, await hashPassword(secret, 10), Date.now());
    if (!user) throw new Error(`user ${name} exists`);
    return user;
  };
  const attacker = await person(`fuzz-a-${tag}`, password);
  const victim = await person(`fuzz-v-${tag}`, `victim password ${tag}`);
  const pool = new TokenPool({ managers, attacker, victim, password, keys });
  await pool.reseed();
  await pool.reseed(); // a generation of revoked tokens from the first run on
  const names = managers.hybrid.cookieNames;
  const target: Target = {
    routes: app.routes
      .filter((r) => r.method !== "ALL")
      .map(({ method, path }) => ({ method, path })),
    strategies: STRATEGIES,
    cookies: {
      session: names.session,
      jwt: names.jwt,
      access: names.access,
      refresh: names.refresh,
      csrf: names.csrf,
    },
    origin: ORIGIN,
  };
  const keyMaterial = keys.keys.flatMap((k) =>
    Object.entries(k).flatMap(([name, v]) =>
      !PUBLIC_JWK.has(name) && typeof v === "string" ? [v] : [],
    ),
  );
  const secrets = [attacker.passwordHash, victim.passwordHash, password, ...keyMaterial];
  return {
    app,
    pool,
    target,
    logs,
    attacker,
    secrets,
    close() {
      for (const m of Object.values(managers)) m.close();
    },
  };
}
export type Reference = Awaited<ReturnType<typeof referenceApp>>;

export const decodedPath = (path: string) => {
  const { pathname } = new URL(ORIGIN + path);
  try {
    return decodeURI(pathname);
  } catch {
    return pathname;
  }
};
const jsonOf = (text: string): Record<string, unknown> | null => {
  try {
    const v = JSON.parse(text) as unknown;
    return typeof v === "object" && v !== null ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
};

/** What a 2xx answer proves the server accepted, and whether the request could prove it. */
export function authViolations(ref: Reference, r: RenderedRequest, answer: Answer): string[] {
  if (answer.status < 200 || answer.status >= 300) return [];
  const { pool, target } = ref;
  const out: string[] = [];
  const path = decodedPath(r.path);
  const need = (s: Strategy) => {
    if (!presentsLive(pool, target, r, s))
      out.push(`${path} answered ${answer.status} without a live ${s} token`);
  };
  const body = jsonOf(answer.body);
  const requestBody = jsonOf(Buffer.from(r.body ?? []).toString("utf8"));
  const session = /^\/api\/(id|jwt|hybrid)\/(me|logout|sessions(?:\/.*)?)$/.exec(path);
  const s = session?.[1] as Strategy | undefined;
  // Sign-out ends a session on any proof of it (docs/strategies.md), a lapsed token included.
  if (s && session?.[2] === "logout" && !presentsCredential(pool, target, r, s))
    out.push(`${path} answered ${answer.status} without a credential of a live ${s} session`);
  else if (s && session?.[2] !== "logout") need(s);
  // The storage lab serves whichever strategy the browser is signed in with (issue 15).
  const lab = path === "/api/lab/copy" || path === "/api/lab/copy-bound";
  if (
    (lab || (path === "/lab" && answer.body.includes('id="lab-copy"'))) &&
    !STRATEGIES.some((strategy) => presentsLive(pool, target, r, strategy))
  )
    out.push(`${path} answered ${answer.status} without a live token of any strategy`);
  const bodyRefresh = typeof requestBody?.refreshToken === "string";
  if (path === "/api/hybrid/refresh" && !presentsRefresh(pool, target, r))
    out.push("refresh answered 2xx without a live refresh token");
  if (path === "/api/strategies/state" && body) {
    for (const s of STRATEGIES) if ((body[s] as { signedIn?: unknown })?.signedIn === true) need(s);
  }
  if (path === "/api/strategies/revoke") {
    const e = pool.liveSessions().find((x) => x.sessionId === body?.revoked);
    if (e) need(e.strategy);
    else out.push(`revoked ${String(body?.revoked)}, not a session the caller holds`);
  }
  if (path === "/api/inspect" && body) {
    const token = typeof requestBody?.token === "string" ? requestBody.token.trim() : "";
    const ok = (v: unknown) => (v as { ok?: unknown })?.ok === true;
    if (
      (ok(body.server) || ok(body.jwks)) &&
      !pool.tokens().has(token) &&
      !pool.keySigned.has(token)
    )
      out.push("the inspector verified a token no key holder signed");
  }
  const login = /^\/api\/(id|jwt|hybrid)\/login$/.test(path);
  const signUp = path === "/api/users";
  if (
    login &&
    !Buffer.from(r.body ?? [])
      .toString("utf8")
      .includes(pool.password)
  )
    out.push("signed in without the password");
  if ((login || signUp) && !sameOriginProof(r, target, new Set([pool.anonCsrf])))
    out.push(`${path} answered ${answer.status} without same-origin proof`);
  const byCookie = !r.headers.some(([k]) => k === "authorization");
  const riding =
    session ||
    lab ||
    path === "/api/strategies/revoke" ||
    (path === "/api/hybrid/refresh" && !bodyRefresh);
  if (isUnsafe(r.method) && byCookie && riding && !sameOriginProof(r, target, boundCsrf(pool, r)))
    out.push(
      `${r.method} ${path} with cookies answered ${answer.status} without same-origin proof`,
    );
  const showsUser =
    answer.body.includes(ref.attacker.id) || answer.body.includes(ref.attacker.username);
  // The inspector shows the claims of the token it is given: the user id in them is an echo.
  const echo = login || signUp || path === "/api/inspect";
  if (showsUser && !echo && !STRATEGIES.some((s) => presentsLive(pool, target, r, s)))
    out.push("shows the attacker's account without a live token");
  return out;
}

/** What @hono/node-server hands the app: the socket, here a loopback peer (a proxy, maybe). */
const PEER = { incoming: { socket: { remoteAddress: "127.0.0.1" } } } as unknown as Env["Bindings"];

/** One request to the app, and everything wrong with its answer. */
export async function exchange(ref: Reference, r: RenderedRequest) {
  const before = ref.logs.length;
  const response = await ref.app.fetch(toRequest(ORIGIN, r), PEER);
  const answer: Answer = {
    status: response.status,
    headers: response.headers,
    body: await response.text(),
  };
  const logs = ref.logs.slice(before);
  const path = decodedPath(r.path);
  const acting = path === "/api/strategies/revoke" ? "any" : strategyOfPath(path);
  const problems = [
    ...(answer.status >= 500 ? [`answered ${answer.status}`] : []),
    ...problemViolations(answer, r.method),
    ...leakViolations(
      answer,
      logs,
      [...ref.secrets, ...ref.pool.secretHashes()],
      [...ref.pool.tokens(), ...ref.pool.keySigned],
      r.path,
    ),
    ...authViolations(ref, r, answer),
    ...(await endedViolations(ref.pool, ref.target, r, acting)),
  ];
  return { answer, logs, problems, path };
}
