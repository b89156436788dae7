import type { JsonObject } from "../../stores/types.js";
import type { Cookie } from "./cookie.js";

type Callback = (error?: unknown) => void;

/** What a `Session` asks of the middleware that made it (one per request). */
export interface SessionControl {
  id(): string;
  save(session: Session): Promise<void>;
  reload(session: Session): Promise<void>;
  destroy(session: Session): Promise<void>;
  regenerate(session: Session): Promise<void>;
}

/**
 * Names the API owns, and names that would reach the prototype: stored data under these names
 * is not copied onto the session (a poisoned record cannot replace its methods or its id).
 */
const RESERVED = new Set(["id", "cookie", "regenerate", "destroy", "save", "reload", "touch"]);
for (const name of ["resetMaxAge", "__proto__", "constructor", "prototype"]) RESERVED.add(name);

const settle = (work: Promise<void>, callback: Callback | undefined) => {
  work.then(
    () => callback?.(),
    (error: unknown) => callback?.(error),
  );
};

/**
 * `req.session`: the app's data as own enumerable properties, plus `cookie`; the methods live
 * on the prototype and `id` is a getter, so `Object.keys`, spread and `JSON.stringify` see only
 * data and `cookie`, as with express-session.
 *
 * @example
 * ```ts
 * import "express-session"; // the type of req.session, from DefinitelyTyped
 * import express from "express";
 * import session from "sessionkit/adapters/express-session";
 *
 * declare module "express-session" {
 *   interface SessionData {
 *     userId: string;
 *   }
 * }
 * declare function checkPassword(body: unknown): Promise<string | null>; // yours
 *
 * const app = express();
 * app.use(express.json(), session({ resave: false, saveUninitialized: false }));
 * app.post("/login", async (req, res, next) => {
 *   const userId = await checkPassword(req.body);
 *   if (!userId) return res.status(401).end();
 *   req.session.regenerate((error) => {
 *     if (error) return next(error);
 *     req.session.userId = userId;
 *     req.session.save(() => res.json({ userId }));
 *   });
 * });
 * ```
 */
export class Session {
  declare cookie: Cookie;
  [key: string]: unknown;
  readonly #control: SessionControl;

  constructor(control: SessionControl, data: JsonObject, cookie: Cookie) {
    this.#control = control;
    this.cookie = cookie;
    assignData(this, data);
  }

  get id(): string {
    return this.#control.id();
  }

  /** Ends this session and starts an empty one under a new id (sign-in: no fixation). */
  regenerate(callback?: Callback): void {
    settle(this.#control.regenerate(this), callback);
  }

  /** Ends the session in the store; `req.session` is unset. */
  destroy(callback?: Callback): void {
    settle(this.#control.destroy(this), callback);
  }

  /** Writes now (before a redirect); the end-of-request write is then skipped if unchanged. */
  save(callback?: Callback): void {
    settle(this.#control.save(this), callback);
  }

  /** Re-reads the data from the store, dropping unsaved changes; an error if it is gone. */
  reload(callback: Callback): void {
    settle(this.#control.reload(this), callback);
  }

  /** Restarts the countdown of `cookie.maxAge` (done on every request anyway). */
  touch(): this {
    return this.resetMaxAge();
  }

  resetMaxAge(): this {
    if (this.cookie.originalMaxAge !== null) this.cookie.maxAge = this.cookie.originalMaxAge;
    return this;
  }
}

/** Copies stored data onto a session, skipping names the API owns. */
export function assignData(session: Session, data: JsonObject): void {
  for (const [key, value] of Object.entries(data)) {
    if (!RESERVED.has(key)) session[key] = value;
  }
}

/** Removes the data, keeping `cookie`. */
export function clearData(session: Session): void {
  for (const key of Object.keys(session)) if (key !== "cookie") delete session[key];
}

/**
 * The session's data as JSON text, as a store keeps it (undefined dropped, dates as strings),
 * without `cookie`: what tells whether the route changed anything.
 */
export function dataText(session: Session): string {
  const data: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(session)) {
    if (key !== "cookie" && typeof value !== "function") data[key] = value;
  }
  return JSON.stringify(data);
}
