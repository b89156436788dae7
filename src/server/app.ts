import { Hono } from "hono";
import { failureResponse, problem } from "../adapters/fetch.js";
import {
  isSessionError,
  SessionError,
  type SessionManager,
  type SessionStore,
  type StrategyName,
} from "../index.js";
import { type JwkSet, publicKeySet } from "../tokens/index.js";
import { readJsonObject } from "./body.js";
import { mountHome } from "./home.js";
import {
  busy,
  clientAddress,
  type Env,
  json,
  publicUser,
  sessionJson,
  type TrustProxy,
  tooMany,
} from "./http.js";
import { mountInspector } from "./inspect.js";
import { mountLab } from "./lab.js";
import { clientAsset, PAGE_ASSET_FILES, pageAsset } from "./page.js";
import {
  DEFAULT_PASSWORD_HASHING,
  hashPassword,
  type PasswordHashing,
  passwordAcceptable,
  passwordHasher,
} from "./passwords.js";
import { failureLimiter, type LimitSlot, release, reserve } from "./rate-limit.js";
import { mountSideBySide } from "./side-by-side.js";
import { mountStrategyRoutes } from "./strategy-routes.js";
import { isUsername, type UserStore, usernameKey } from "./users.js";

export interface AppOptions {
  managers: Partial<Record<StrategyName, SessionManager>>;
  store: SessionStore;
  /** The signing keys, for `/.well-known/jwks.json` (public parts of asymmetric keys only). */
  keys?: JwkSet;
  users: UserStore;
  /** log2 of scrypt's N; only tests lower it below the OWASP value. */
  scryptLog2N: number;
  loginLimits?: { perUser: number; perAddress: number; windowMs: number };
  /** Sign-ups per client address and in all, per window (default 30 and 500 an hour). */
  registrationLimits?: { perAddress: number; global: number; windowMs: number };
  /** scrypt hashes at once and waiting (default 2 and 8); past that, `503` with Retry-After. */
  passwordHashing?: PasswordHashing;
  /** Proxies whose X-Forwarded-For names the client (default 0: none, the header is ignored). */
  trustProxy?: TrustProxy;
  /** Lifetime of hybrid access tokens, for the page's client to refresh before it ends. */
  accessLifetimeMs?: number;
  /** The token inspector's issuer and audiences (with `keys`); without them, no inspector. */
  inspect?: { issuer: string; audiences: string[] };
  /** The storage lab's token copy (`--lab`); off unless `true`. */
  lab?: boolean;
  clock?: () => number;
  /** `revocation.maxLag` of the managers: past it, `/healthz` reports the feed behind. */
  maxLag?: number;
  log?: (line: string) => void;
}

const SECURITY_HEADERS: Record<string, string> = {
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
  "cross-origin-opener-policy": "same-origin",
};

export function createApp(options: AppOptions): Hono<Env> {
  const { managers, users, store } = options;
  const clock = options.clock ?? Date.now;
  const log = options.log ?? (() => {});
  const limits = options.loginLimits ?? { perUser: 5, perAddress: 50, windowMs: 15 * 60_000 };
  const signUps = options.registrationLimits ?? {
    perAddress: 30,
    global: 500,
    windowMs: 60 * 60_000,
  };
  const hashing = options.passwordHashing ?? DEFAULT_PASSWORD_HASHING;
  for (const [name, value] of Object.entries({ ...limits, ...signUps, ...hashing })) {
    const least = name === "queue" ? 0 : 1;
    if (!Number.isSafeInteger(value) || value < least) {
      throw new SessionError("CONFIG_INVALID", `${name}: expected an integer of at least ${least}`);
    }
  }
  const clientIp = clientAddress(options.trustProxy);
  const hasher = passwordHasher(options.scryptLog2N, hashing);
  const perUser = failureLimiter({ max: limits.perUser, windowMs: limits.windowMs });
  const perAddress = failureLimiter({ max: limits.perAddress, windowMs: limits.windowMs });
  const signUpsPerAddress = failureLimiter({ max: signUps.perAddress, windowMs: signUps.windowMs });
  const signUpsInAll = failureLimiter({ max: signUps.global, windowMs: signUps.windowMs });
  // Verifying against a real hash for unknown users keeps their timing like a wrong password.
  const decoy = hashPassword("sessionkit-decoy-password", options.scryptLog2N);
  const app = new Hono<Env>();

  app.use(async (c, next) => {
    await next();
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) c.res.headers.set(name, value);
  });

  app.onError((error, c) => {
    if (isSessionError(error, "STORE_UNAVAILABLE")) {
      return problem(503, "store_unavailable", "Session store unavailable", { "retry-after": "1" });
    }
    log(
      `error on ${c.req.method} ${c.req.path}: ${error instanceof Error ? error.stack : String(error)}`,
    );
    return problem(500, "internal_error", "Internal error");
  });
  app.notFound(() => problem(404, "not_found", "Not found"));

  // jwt and hybrid fail closed while the change feed is behind: a load balancer should know.
  const feedMatters = managers.jwt !== undefined || managers.hybrid !== undefined;
  const maxLag = options.maxLag ?? 5000;
  app.get("/healthz", async () => {
    try {
      await store.ping();
    } catch {
      return problem(503, "store_unavailable", "Session store unavailable", { "retry-after": "1" });
    }
    if (feedMatters && (store.feedLag?.() ?? 0) > maxLag) {
      return problem(503, "feed_behind", "Revocation feed behind", { "retry-after": "1" });
    }
    return json({ status: "ok" });
  });

  // Registration is an unsafe request like any other: same-origin proof first.
  const csrfGate = Object.values(managers)[0];
  app.post("/api/users", async (c) => {
    if (csrfGate && !csrfGate.checkCsrf(c.req.raw, null)) {
      return problem(403, "csrf_failed", "Cross-site request refused");
    }
    const body = await readJsonObject(c.req.raw);
    if (!body.ok) return body.response;
    const { username, password } = body.value;
    if (!isUsername(username)) {
      return problem(
        400,
        "invalid_username",
        "Usernames are 3-64 letters, digits, '.', '_' or '-'",
      );
    }
    if (!passwordAcceptable(password)) {
      return problem(400, "invalid_password", "Passwords are 8 to 1024 bytes of text");
    }
    // Every attempt counts against its address, taken names too: a 409 tells whether an
    // account exists. Only accounts created count in all, so that asking about taken names
    // cannot close registration for everyone.
    const now = clock();
    const address = clientIp(c) ?? "unknown";
    const perAddress: LimitSlot = [signUpsPerAddress, address];
    const inAll: LimitSlot = [signUpsInAll, "all"];
    const wait = signUpsInAll.retryAfter("all", now) || reserve([perAddress], now);
    if (wait > 0) return tooMany(wait, "Too many sign-ups");
    const taken = () => problem(409, "username_taken", "That username is taken");
    // A taken name costs no hash.
    if (await users.byUsername(username)) return taken();
    // Counted before the hash, with no await since the check, so that a parallel burst cannot
    // create more accounts than the limit.
    const waitInAll = reserve([inAll], now);
    if (waitInAll > 0) {
      release([perAddress], now);
      return tooMany(waitInAll, "Too many sign-ups");
    }
    const hash = await hasher.hash(password, [`a:${address}`, `u:${usernameKey(username)}`]);
    if (hash === null) {
      release([perAddress, inAll], now);
      return busy();
    }
    const user = await users.create(username, hash, clock());
    if (!user) {
      release([inAll], now);
      return taken();
    }
    return json({ user: publicUser(user) }, 201);
  });

  for (const [strategy, manager] of Object.entries(managers) as Array<
    [StrategyName, SessionManager]
  >) {
    mountStrategyRoutes(
      { app, users, clock, clientIp, hasher, limits: { perUser, perAddress, decoy } },
      strategy,
      manager,
    );
  }

  app.get("/.well-known/jwks.json", () =>
    Response.json(options.keys ? publicKeySet(options.keys) : { keys: [] }, {
      headers: { "cache-control": "public, max-age=300" },
    }),
  );

  const hybrid = managers.hybrid;
  if (hybrid) {
    app.post("/api/hybrid/refresh", async (c) => {
      // A JSON body with `refreshToken` is the header transport; otherwise the cookie.
      const hasBody =
        (c.req.header("content-length") ?? "0") !== "0" || c.req.header("transfer-encoding");
      let refreshToken: string | undefined;
      if (hasBody) {
        const body = await readJsonObject(c.req.raw, { optional: true });
        if (!body.ok) return body.response;
        if (body.value.refreshToken !== undefined) {
          if (typeof body.value.refreshToken !== "string") {
            return problem(400, "invalid_refresh_token", "refreshToken is a string");
          }
          refreshToken = body.value.refreshToken;
        }
      }
      const result = await hybrid.refresh(
        c.req.raw,
        refreshToken === undefined ? {} : { refreshToken },
      );
      if (!result.session) return failureResponse(result.failure, result.headers);
      const session = sessionJson(result.session);
      const payload =
        refreshToken === undefined
          ? { session }
          : {
              session,
              accessToken: result.accessToken,
              refreshToken: result.refreshToken,
              // RFC 9449 §5: a bound token's type is DPoP.
              tokenType: result.session.deviceBound ? "DPoP" : "Bearer",
            };
      return json(payload, 200, result.headers);
    });
  }

  app.get("/api/csrf", async (c) => {
    const manager = managers.id ?? Object.values(managers)[0];
    if (!manager) return problem(404, "not_found", "Not found");
    // Read-only: this answer carries the CSRF cookie only, so a renewal here would be lost.
    const result = await manager.authenticate(c.req.raw, { readOnly: true });
    const { token, headers } = manager.csrfToken(result.session);
    return json({ token }, 200, headers);
  });

  mountHome(app, {
    managers,
    users,
    accessLifetimeMs: options.accessLifetimeMs ?? 5 * 60_000,
  });
  app.get("/favicon.ico", () => new Response(null, { status: 204 }));
  mountLab(app, managers, {
    enabled: options.lab === true,
    accessLifetimeMs: options.accessLifetimeMs ?? 5 * 60_000,
  });
  mountSideBySide(app, managers, { store, lab: options.lab === true, maxLag });
  if (options.keys && options.inspect)
    mountInspector(app, {
      keys: options.keys,
      ...options.inspect,
      store,
      managers,
      echoOwnToken: options.lab === true,
    });
  // The pages' scripts and stylesheet as built (dist/server/assets), each at a route of its
  // own: no other name reaches the disk.
  for (const file of PAGE_ASSET_FILES) app.get(`/assets/${file}`, () => pageAsset(file));
  // sessionkit/client as built (dist/client), served as it is: the page scripts import it.
  app.get("/assets/client/:file", (c) => clientAsset(c.req.param("file")));

  return app;
}
