import { createHmac, randomUUID, timingSafeEqual } from "node:crypto";
import type { Request, RequestHandler, Response } from "express";
import { parseCookieHeader } from "../cookies/parse.js";
import { createSessionManager, type SessionManager } from "../core/manager.js";
import type { Session } from "../core/types.js";
import { configError, SessionError } from "../errors.js";
import type { JsonObject, SessionStore } from "../stores/types.js";
import { applyNodeHeaders, sendRefusal, toRequestLike } from "./node.js";
import { authenticateOutcome, csrfRefusal, refusalOf } from "./outcome.js";

/** What sessionkit needs of an express-session store (connect-redis, MemoryStore, ...). */
export interface LegacyStore {
  get(sid: string, callback: (error: unknown, data?: Record<string, unknown> | null) => void): void;
  destroy?(sid: string, callback: (error?: unknown) => void): void;
}

export interface ExpressSessionCompatOptions {
  /** Any sessionkit store; sessions use the `id` strategy. Or pass `manager` instead. */
  store?: SessionStore;
  manager?: SessionManager;
  /** express-session's `cookie.maxAge`: the idle lifetime. Default 30 minutes. */
  cookie?: { maxAge?: number };
  /** express-session's `saveUninitialized`: store sessions nobody wrote to. Default false. */
  saveUninitialized?: boolean;
  /** Allowed origins for the CSRF check of unsafe requests (the app's own origin). */
  origins?: string[];
  /** Which user a session's data belongs to. Default `userId`, `user.id` or `passport.user`. */
  userId?: (data: JsonObject) => string | null;
  /**
   * The transition from express-session: its signed cookie (`connect.sid`) is read with the old
   * secret(s) and its session loaded from the old store, then moved to sessionkit (new cookie,
   * old one cleared), so that nobody is signed out by the switch.
   */
  legacy?: { secret: string | string[]; store: LegacyStore; name?: string };
}

/** express-session's `req.session` object API on a sessionkit session. */
export interface CompatSession {
  id: string;
  cookie: { maxAge: number; originalMaxAge: number; expires: Date; httpOnly: true };
  regenerate(callback: (error?: unknown) => void): void;
  destroy(callback?: (error?: unknown) => void): void;
  save(callback?: (error?: unknown) => void): void;
  reload(callback: (error?: unknown) => void): void;
  touch(): CompatSession;
  [key: string]: unknown;
}

const METHODS = new Set(["id", "cookie", "regenerate", "destroy", "save", "reload", "touch"]);

const defaultUserId = (data: JsonObject): string | null => {
  const user = data.user as JsonObject | undefined;
  const passport = data.passport as JsonObject | undefined;
  const id = data.userId ?? user?.id ?? passport?.user;
  return typeof id === "string" || typeof id === "number" ? String(id) : null;
};

/** Unsigns an express-session cookie value (`s:<sid>.<HMAC-SHA256, base64 unpadded>`). */
export function unsignLegacyCookie(value: string, secrets: string[]): string | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(value);
  } catch {
    return null;
  }
  if (!decoded.startsWith("s:")) return null;
  const dot = decoded.lastIndexOf(".");
  if (dot < 3) return null;
  const sid = decoded.slice(2, dot);
  const given = Buffer.from(decoded.slice(dot + 1));
  for (const secret of secrets) {
    const expected = Buffer.from(
      createHmac("sha256", secret).update(sid).digest("base64").replace(/=+$/, ""),
    );
    if (expected.length === given.length && timingSafeEqual(expected, given)) return sid;
  }
  return null;
}

/**
 * Drop-in for `express-session`: `app.use(session({ store, legacy }))` gives routes the same
 * `req.session` (mutable data, `regenerate`, `destroy`, `save`, `reload`, `touch`, `cookie`)
 * while sessionkit keeps the session: hashed tokens, fixed cookie flags, revocation, devices.
 */
export default function session(options: ExpressSessionCompatOptions): RequestHandler {
  const idle = options.cookie?.maxAge ?? 30 * 60_000;
  const manager =
    options.manager ??
    (options.store
      ? createSessionManager({
          strategy: "id",
          store: options.store,
          lifetimes: { idle, absolute: Math.max(idle, 12 * 3_600_000) },
          csrf: { origins: options.origins ?? [] },
        })
      : null);
  if (!manager) throw configError("express-session compat: store or manager is required");
  if (manager.strategy !== "id") throw configError("express-session compat: use the id strategy");
  const userIdOf = options.userId ?? defaultUserId;
  const legacy = options.legacy;
  const secrets = legacy ? [legacy.secret].flat() : [];
  const legacyName = legacy?.name ?? "connect.sid";

  const readLegacy = (req: Request): Promise<{ sid: string; data: JsonObject } | null> => {
    if (!legacy) return Promise.resolve(null);
    const raw = parseCookieHeader(req.headers.cookie).find(([name]) => name === legacyName)?.[1];
    const sid = raw ? unsignLegacyCookie(raw, secrets) : null;
    if (!sid) return Promise.resolve(null);
    return new Promise((resolve) => {
      legacy.store.get(sid, (error, data) => {
        if (error || !data) return resolve(null);
        const { cookie: _cookie, ...rest } = data;
        // As JSON, which is how the old store held it (and all a sessionkit store keeps).
        resolve({ sid, data: JSON.parse(JSON.stringify(rest)) as JsonObject });
      });
    });
  };

  return (req, res, next) => {
    const request = toRequestLike(req);
    Promise.resolve(authenticateOutcome(manager, request)).then(async (outcome) => {
      if (outcome.error) return next(outcome.error);
      applyNodeHeaders(res, outcome.headers);
      if (outcome.refusal?.status === 403) return sendRefusal(res, outcome.refusal);
      let current: Session<JsonObject> | null = outcome.session;
      let initial = current ? current.data : {};
      // The CSRF rule of every other route, for what happens here without a session cookie:
      // a cross-site unsafe request may neither ride the old cookie nor start a session
      // (login CSRF). With a session cookie, `authenticate` has checked it already.
      const sameSite = current !== null || manager.checkCsrf(request, null);
      if (!current) {
        const old = await readLegacy(req);
        if (old && !sameSite) return sendRefusal(res, csrfRefusal());
        if (old) {
          const issued = await manager.create({
            userId: userIdOf(old.data) ?? `anonymous.${randomUUID()}`,
            data: old.data,
            request,
            ip: req.ip ?? null,
          });
          applyNodeHeaders(res, issued.headers);
          res.append("set-cookie", `${legacyName}=; Path=/; Max-Age=0; HttpOnly`);
          legacy?.store.destroy?.(old.sid, () => {});
          current = issued.session;
          initial = current.data;
        }
      }
      let destroyed = false;
      let saved = JSON.stringify(initial);

      const persist = async () => {
        const compat = req.session as unknown as CompatSession | undefined;
        if (destroyed || !compat) return;
        const text = dataText(compat);
        const modified = text !== saved;
        const data = JSON.parse(text) as JsonObject;
        const userId = userIdOf(data);
        if (!current || (userId !== null && userId !== current.userId)) {
          // A new session, or a sign-in into an existing one: a new id either way (no fixation).
          if (!current && !modified && !options.saveUninitialized) return;
          if (!current && !sameSite) {
            throw new SessionError("CSRF_FAILED", "a cross-site request may not start a session");
          }
          const issued = await manager.create({
            userId: userId ?? `anonymous.${randomUUID()}`,
            data,
            request,
            ip: req.ip ?? null,
          });
          if (!res.headersSent) applyNodeHeaders(res, issued.headers);
          current = issued.session;
        } else if (modified) {
          current = await manager.update(current.id, () => data);
        }
        saved = text;
        compat.id = current.id;
      };

      const build = (data: JsonObject): CompatSession => {
        const compat: CompatSession = {
          ...data,
          id: current?.id ?? "",
          cookie: {
            maxAge: idle,
            originalMaxAge: idle,
            expires: current?.expiresAt ?? new Date(Date.now() + idle),
            httpOnly: true,
          },
          regenerate(callback) {
            const old = current;
            current = null;
            saved = "{}";
            (old ? manager.revoke(old.id) : Promise.resolve(false)).then(() => {
              req.session = build({}) as never;
              callback();
            }, callback);
          },
          destroy(callback) {
            destroyed = true;
            manager.logout(request).then(
              ({ headers }) => {
                if (!res.headersSent) applyNodeHeaders(res, headers);
                current = null;
                req.session = undefined as never;
                callback?.();
              },
              (error) => callback?.(error),
            );
          },
          save(callback) {
            persist().then(
              () => callback?.(),
              (error) => callback?.(error),
            );
          },
          reload(callback) {
            const id = current?.id;
            (id ? manager.get(id) : Promise.resolve(null)).then((fresh) => {
              for (const key of Object.keys(JSON.parse(dataText(compat)))) delete compat[key];
              Object.assign(compat, fresh?.data ?? {});
              saved = JSON.stringify(fresh?.data ?? {});
              callback();
            }, callback);
          },
          touch() {
            return compat; // sessionkit slides the expiry itself
          },
        };
        return compat;
      };
      req.session = build(initial) as never;
      (req as Request & { sessionID?: string }).sessionID = current?.id ?? "";

      // As express-session does: the session is saved before the response ends.
      const end = res.end.bind(res) as (...args: unknown[]) => Response;
      res.end = ((...args: unknown[]) => {
        persist().then(
          () => end(...args),
          (error) => {
            const refusal = refusalOf(error);
            if (!refusal || res.headersSent) return res.destroy(error as Error);
            // Instead of whatever the route (or Express's error handler) was sending, and
            // without saving again on the way out.
            res.end = end as Response["end"];
            res.removeHeader("content-length");
            sendRefusal(res, refusal);
          },
        );
        return res;
      }) as Response["end"];
      next();
    }, next);
  };
}

/**
 * The session's data as JSON text: what the application put on `req.session`, minus the API,
 * serialised as express-session stores it (undefined dropped, dates as strings). The text is
 * also what tells whether anything changed.
 */
function dataText(compat: CompatSession): string {
  const data: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(compat)) {
    if (!METHODS.has(key) && typeof value !== "function") data[key] = value;
  }
  return JSON.stringify(data);
}
