import type { IncomingMessage } from "node:http";
import type { Context, Hono } from "hono";
import { applyHeaders, failureResponse, problem } from "../adapters/fetch.js";
import { toRequestLike } from "../adapters/node.js";
import { rawAuthenticate } from "../core/hot-path.js";
import { isSessionError } from "../errors.js";
import type { SessionManager, StrategyName } from "../index.js";
import { readJsonObject } from "./body.js";
import {
  busy,
  type ClientAddress,
  type Env,
  json,
  publicUser,
  sessionJson,
  tooMany,
} from "./http.js";
import { type PasswordHasher, passwordAcceptable } from "./passwords.js";
import { type FailureLimiter, type LimitSlot, release, reserve } from "./rate-limit.js";
import { isUsername, type User, type UserStore, usernameKey } from "./users.js";

export interface StrategyRouteContext {
  app: Hono<Env>;
  users: UserStore;
  clock: () => number;
  clientIp: ClientAddress;
  hasher: PasswordHasher;
  limits: {
    perUser: FailureLimiter;
    perAddress: FailureLimiter;
    /** A real hash to verify unknown users against, so that they take as long as a wrong password. */
    decoy: Promise<string>;
  };
}

/**
 * `/api/{strategy}/login|me|logout|sessions|sessions/{id}|sessions/revoke-all`: the same
 * routes for every strategy, over the public manager API only.
 */
export function mountStrategyRoutes(
  { app, users, clock, clientIp, hasher, limits }: StrategyRouteContext,
  strategy: StrategyName,
  manager: SessionManager,
) {
  const base = `/api/${strategy}`;

  /**
   * Authenticates and loads the user, or answers the uniform failure. On Node the headers are
   * read where Node parsed them (building the Fetch request's `Headers` costs more than the
   * session), through the manager's raw answer (no `Headers` object when nothing is set).
   */
  const signedIn = async (c: Context<Env>) => {
    const incoming = c.env?.incoming;
    const pending = rawAuthenticate(
      manager,
      incoming?.headers ? toRequestLike(incoming as IncomingMessage) : c.req.raw,
    );
    const result = pending instanceof Promise ? await pending : pending;
    if (!result.session)
      return { response: failureResponse(result.failure, result.headers ?? undefined) } as const;
    const user = result.session.userId === null ? null : await users.byId(result.session.userId);
    if (!user) {
      await manager.revoke(result.session.id);
      return {
        response: failureResponse({
          reason: "unknown_session",
          status: 401,
          transport: result.session.transport,
        }),
      } as const;
    }
    return { session: result.session, user, headers: result.headers } as const;
  };

  app.post(`${base}/login`, async (c) => {
    if (!manager.checkCsrf(c.req.raw, null)) {
      return problem(403, "csrf_failed", "Cross-site request refused");
    }
    const body = await readJsonObject(c.req.raw);
    if (!body.ok) return body.response;
    const { username, password, transport = "cookie" } = body.value;
    if (typeof username !== "string" || typeof password !== "string" || username.length > 64) {
      return problem(400, "invalid_credentials_format", "username and password are strings");
    }
    if (transport !== "cookie" && transport !== "header") {
      return problem(400, "invalid_transport", 'transport is "cookie" or "header"');
    }
    const now = clock();
    const ip = clientIp(c);
    const userKey = `u:${usernameKey(username)}`;
    const addressKey = `a:${ip ?? "unknown"}`;
    // Text that folds to no valid username can be no one's account: it counts against the
    // address only, so that junk names cannot fill the per-user counters.
    const slots: LimitSlot[] = isUsername(usernameKey(username))
      ? [
          [limits.perUser, userKey],
          [limits.perAddress, addressKey],
        ]
      : [[limits.perAddress, addressKey]];
    // Counted as it starts, before the slow password check: a burst sent in parallel gets no
    // more checks than a sequence would. Only a success, or a check that could not run (hashing
    // busy, user table down), gives it back.
    const wait = reserve(slots, now);
    if (wait > 0) return tooMany(wait, "Too many failed sign-ins");
    const refused = () => problem(401, "invalid_credentials", "Wrong username or password");
    // Text that can be no one's username or password is refused without a lookup or a hash.
    if (!isUsername(username) || !passwordAcceptable(password)) return refused();
    let user: User | null;
    let valid: boolean | null;
    try {
      user = await users.byUsername(username);
      valid = await hasher.verify(password, user?.passwordHash ?? (await limits.decoy), [
        addressKey,
        userKey,
      ]);
    } catch (error) {
      release(slots, now); // the user table is down: nothing was checked
      throw error;
    }
    if (valid === null) {
      release(slots, now);
      return busy();
    }
    if (!user || !valid) return refused();
    limits.perUser.reset(userKey);
    limits.perAddress.release(addressKey, now);
    let issued: Awaited<ReturnType<typeof manager.create>>;
    try {
      issued = await manager.create({ userId: user.id, request: c.req.raw, ip, transport });
    } catch (error) {
      // A DPoP sign-in with a bad proof (or none where one is required): 401 and the
      // challenge, with a nonce to retry with when the server asks for one.
      if (!isSessionError(error, "DPOP_REFUSED")) throw error;
      const refused = problem(401, "invalid_dpop_proof", "DPoP proof refused");
      for (const [name, value] of Object.entries(error.headers)) refused.headers.set(name, value);
      return refused;
    }
    const session = sessionJson(issued.session);
    const tokens =
      transport === "header"
        ? {
            accessToken: issued.token,
            // RFC 9449 §5: a bound token's type is DPoP.
            tokenType: issued.session.deviceBound ? "DPoP" : "Bearer",
            ...(issued.refreshToken ? { refreshToken: issued.refreshToken } : {}),
          }
        : {};
    const payload = { user: publicUser(user), session, ...tokens };
    return json(payload, 200, issued.headers);
  });

  // DBSC (id strategy, when the manager binds devices): registration and refresh, answered
  // as the manager says; both ride the session cookie or a proof, never a form.
  app.post(`${base}/dbsc/register`, async (c) =>
    deviceAnswer(await manager.registerDevice(c.req.raw)),
  );
  app.post(`${base}/dbsc/refresh`, async (c) =>
    deviceAnswer(await manager.refreshDevice(c.req.raw)),
  );

  app.get(`${base}/me`, async (c) => {
    const auth = await signedIn(c);
    if ("response" in auth) return auth.response;
    return noStore(
      json({ user: publicUser(auth.user), session: sessionJson(auth.session) }, 200, auth.headers),
    );
  });

  // Not behind `signedIn`: an access token that lapsed still proves the session to end, and
  // the cookies are cleared whatever the request proves. The manager applies the CSRF rule.
  app.post(`${base}/logout`, async (c) => {
    const { headers, failure } = await manager.logout(c.req.raw);
    if (failure) return failureResponse(failure, headers);
    return applyHeaders(new Response(null, { status: 204 }), headers);
  });

  app.get(`${base}/sessions`, async (c) => {
    const auth = await signedIn(c);
    if ("response" in auth) return auth.response;
    const sessions = await manager.list(auth.user.id, { current: auth.session.id });
    return noStore(json({ sessions }, 200, auth.headers));
  });

  app.delete(`${base}/sessions/:id`, async (c) => {
    const auth = await signedIn(c);
    if ("response" in auth) return auth.response;
    const id = c.req.param("id");
    const mine = await manager.list(auth.user.id);
    if (!mine.some((s) => s.id === id))
      return problem(404, "not_found", "No such session of yours");
    await manager.revoke(id);
    const response = new Response(null, { status: 204 });
    if (id === auth.session.id) applyHeaders(response, (await manager.logout(c.req.raw)).headers);
    return noStore(applyHeaders(response, auth.headers));
  });

  app.post(`${base}/sessions/revoke-all`, async (c) => {
    const auth = await signedIn(c);
    if ("response" in auth) return auth.response;
    const body = await readJsonObject(c.req.raw, { optional: true });
    if (!body.ok) return body.response;
    const exceptCurrent = body.value.exceptCurrent === true;
    const revoked = await manager.revokeUser(
      auth.user.id,
      exceptCurrent ? { except: auth.session.id } : {},
    );
    const response = json({ revoked: revoked.length }, 200, auth.headers);
    if (!exceptCurrent) applyHeaders(response, (await manager.logout(c.req.raw)).headers);
    return noStore(response);
  });
}

/**
 * An answer about one signed-in user (who, their devices' user agents and addresses, session
 * ids) is kept in no cache (OWASP session management cheat sheet).
 */
function noStore(response: Response): Response {
  response.headers.set("cache-control", "no-store");
  return response;
}

/** A DBSC endpoint's answer as a response. */
function deviceAnswer(answer: { status: number; headers: Headers; body: string | null }): Response {
  return new Response(answer.body, { status: answer.status, headers: answer.headers });
}
