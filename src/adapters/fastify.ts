import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";
import type { DeviceAnswer } from "../core/device-bound.js";
import type { SessionManager } from "../core/manager.js";
import type { CreateInput, RegisteredData, Session } from "../core/types.js";
import { configError } from "../errors.js";
import type { JsonObject } from "../stores/types.js";
import { toRequestLike } from "./node.js";
import {
  AUTHENTICATED_CACHE_CONTROL,
  authenticateOutcome,
  eachHeader,
  type Outcome,
  problemBody,
  type Refusal,
  refusalOf,
  requestStates,
  signInFrom,
  signOutFrom,
  userSession,
} from "./outcome.js";

declare module "fastify" {
  interface FastifyRequest {
    /** Set by the sessionkit plugin: the session, or `null` when signed out. */
    session: Session<RegisteredData> | null;
  }
  interface FastifyReply {
    /**
     * Signs the user in. A cross-site sign-in throws `CSRF_FAILED`, which the plugin answers
     * 403 problem+json, as every adapter does (an unreachable store: 503).
     */
    signIn(input: Omit<CreateInput<RegisteredData>, "request">): Promise<Session<RegisteredData>>;
    /** Ends the session and clears its cookies; a cross-site sign-out throws `CSRF_FAILED` (403). */
    signOut(): Promise<boolean>;
    /** `hybrid`: rotates the refresh token and issues a new access token. */
    refreshSession(): Promise<Session<RegisteredData> | null>;
  }
}

export interface SessionkitPluginOptions<Data extends JsonObject = RegisteredData> {
  manager: SessionManager<Data>;
}

const states = requestStates<FastifyRequest>(
  "fastify: register the sessionkit plugin before this route",
);

/** Fastify appends repeated `set-cookie` values; other headers are set. */
function writeHeaders(reply: FastifyReply, headers: Headers | null): void {
  eachHeader(headers, (name, value) => reply.header(name, value));
}

function refuse(reply: FastifyReply, refusal: Refusal): FastifyReply {
  writeHeaders(reply, refusal.headers);
  return (
    reply
      .code(refusal.status)
      .header("content-type", "application/problem+json")
      .header("cache-control", "no-store")
      // A Buffer: a string gets "; charset=utf-8" appended by Fastify, and the content type
      // would differ from every other adapter's.
      .send(Buffer.from(problemBody(refusal)))
  );
}

const plugin: FastifyPluginAsync<SessionkitPluginOptions<JsonObject>> = async (
  fastify,
  options,
) => {
  const manager = options.manager;
  if (!manager) throw configError("fastify: the sessionkit plugin needs { manager }");
  fastify.decorateRequest("session", null);
  // The reply helpers are this plugin's own: they use its manager directly.
  fastify.decorateReply("signIn", async function (this: FastifyReply, input) {
    const request = this.request;
    const issued = await signInFrom(manager, toRequestLike(request.raw), {
      ip: request.ip ?? null,
      ...input,
    });
    writeHeaders(this, issued.headers);
    request.session = issued.session as Session<RegisteredData>;
    return issued.session as Session<RegisteredData>;
  });
  fastify.decorateReply("signOut", async function (this: FastifyReply) {
    const { revoked, headers } = await signOutFrom(manager, toRequestLike(this.request.raw));
    writeHeaders(this, headers);
    this.request.session = null;
    return revoked;
  });
  fastify.decorateReply("refreshSession", async function (this: FastifyReply) {
    const result = await manager.refresh(toRequestLike(this.request.raw));
    writeHeaders(this, result.headers);
    return result.session as Session<RegisteredData> | null;
  });
  // sessionkit's errors thrown from a route (a cross-site sign-in or sign-out, an unreachable
  // store) are answered as problem details, as the other adapters' error handlers do. A
  // route-level handler rather than `setErrorHandler`: that would take the scope's one slot
  // (Fastify warns when the application sets its own after). Any other error is rethrown,
  // which Fastify hands to the scope's handler, the application's or its default.
  fastify.addHook("onRoute", (route) => {
    const own = route.errorHandler;
    route.errorHandler = function (error, request, reply) {
      const refusal = refusalOf(error);
      if (refusal) return refuse(reply, refusal);
      if (own) return own.call(this, error, request, reply);
      throw error;
    };
  });
  const record = states.recorder(manager);
  /** Applies the outcome; `false` when it answered the request itself (403, 503). */
  const settle = (
    request: FastifyRequest,
    reply: FastifyReply,
    outcome: Outcome<JsonObject>,
  ): boolean => {
    record(request, outcome.refusal);
    writeHeaders(reply, outcome.headers);
    if (outcome.session && !reply.hasHeader("cache-control")) {
      reply.header("cache-control", AUTHENTICATED_CACHE_CONTROL); // a route may set its own
    }
    request.session = outcome.session as Session<RegisteredData> | null;
    // A cross-site request riding a session cookie (403) or an unreachable store (503).
    if (outcome.refusal && outcome.refusal.status !== 401) {
      refuse(reply, outcome.refusal);
      return false;
    }
    return true;
  };
  // A callback hook rather than an async one: a token answered from memory (jwt, hybrid) goes
  // on without a promise at all.
  fastify.addHook("onRequest", (request, reply, done) => {
    let pending: Outcome<JsonObject> | Promise<Outcome<JsonObject>>;
    try {
      pending = authenticateOutcome(manager, toRequestLike(request.raw));
    } catch (error) {
      done(error as Error);
      return;
    }
    if (pending instanceof Promise) {
      pending.then(
        (outcome) => {
          if (settle(request, reply, outcome)) done();
        },
        (error: Error) => done(error),
      );
    } else if (settle(request, reply, pending)) {
      done();
    }
  });
};

// Like fastify-plugin: the hook and decorators belong to the context that registers the
// plugin (the root, or one encapsulated scope), not to a child of it.
Object.assign(plugin, {
  [Symbol.for("skip-override")]: true,
  [Symbol.for("fastify.display-name")]: "sessionkit",
});

/**
 * The plugin: `app.register(sessionkit, { manager })`. Sets `request.session` on every
 * request of the context that registers it (and `Cache-Control: no-store` on the reply when
 * signed in, unless a route sets its own) and adds `reply.signIn/signOut/refreshSession`.
 *
 * @example
 * ```ts
 * import Fastify from "fastify";
 * import type { SessionManager } from "sessionkit";
 * import { requireSession, sessionkit } from "sessionkit/adapters/fastify";
 *
 * declare const sessions: SessionManager;
 *
 * const app = Fastify();
 * await app.register(sessionkit, { manager: sessions });
 * app.post("/login", async (request, reply) => {
 *   const session = await reply.signIn({ userId: "u-alice" }); // after checking the password
 *   return { userId: session.userId };
 * });
 * app.get("/me", { onRequest: requireSession }, async (request) => ({
 *   userId: request.session?.userId,
 * }));
 * app.post("/logout", async (request, reply) => {
 *   await reply.signOut();
 *   return reply.code(204).send();
 * });
 * ```
 */
export const sessionkit = plugin as FastifyPluginAsync<SessionkitPluginOptions>;

/**
 * `onRequest` guard: `{ onRequest: requireSession }` answers 401 without a signed-in user.
 *
 * @example
 * ```ts
 * import Fastify from "fastify";
 * import type { SessionManager } from "sessionkit";
 * import { requireSession, sessionkit } from "sessionkit/adapters/fastify";
 *
 * declare const sessions: SessionManager;
 *
 * const app = Fastify();
 * await app.register(sessionkit, { manager: sessions });
 * app.get("/me", { onRequest: requireSession }, async (request) => ({
 *   userId: request.session?.userId,
 * }));
 * ```
 */
export async function requireSession(request: FastifyRequest, reply: FastifyReply) {
  if (userSession(request.session)) return;
  return refuse(reply, states.refusal(request));
}

/**
 * DBSC's two endpoints (`deviceBound` option) as Fastify route handlers:
 * `app.post("/dbsc/register", dbsc.register)`.
 *
 * @example
 * ```ts
 * import Fastify from "fastify";
 * import type { SessionManager } from "sessionkit";
 * import { deviceEndpoints, sessionkit } from "sessionkit/adapters/fastify";
 *
 * declare const sessions: SessionManager; // with the deviceBound option
 *
 * const app = Fastify();
 * await app.register(sessionkit, { manager: sessions });
 * const dbsc = deviceEndpoints(sessions);
 * app.post("/dbsc/register", dbsc.register);
 * app.post("/dbsc/refresh", dbsc.refresh);
 * ```
 */
export function deviceEndpoints<Data extends JsonObject>(manager: SessionManager<Data>) {
  const send = (reply: FastifyReply, answer: DeviceAnswer) => {
    writeHeaders(reply, answer.headers);
    return reply.code(answer.status).send(answer.body ?? undefined);
  };
  return {
    register: async (request: FastifyRequest, reply: FastifyReply) =>
      send(reply, await manager.registerDevice(toRequestLike(request.raw))),
    refresh: async (request: FastifyRequest, reply: FastifyReply) =>
      send(reply, await manager.refreshDevice(toRequestLike(request.raw))),
  };
}
