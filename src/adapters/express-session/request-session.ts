import type { Request, Response } from "express";
import type { RequestLike } from "../../core/types.js";
import { SessionError } from "../../errors.js";
import type { JsonObject } from "../../stores/types.js";
import type { Backend, LoadedSession } from "./backend.js";
import { Cookie, type CookieJson, type CookieOptions } from "./cookie.js";
import { assignData, clearData, dataText, Session, type SessionControl } from "./session.js";

/** The middleware's settings that decide when to save, touch and set the cookie. */
export interface Rules {
  resave: boolean;
  rolling: boolean;
  saveUninitialized: boolean;
  unsetDestroy: boolean;
  cookie: CookieOptions;
  userIdOf(data: JsonObject): string | null;
}

/**
 * One request's session, with express-session's rules: a session is saved when it changed (or
 * always, with `resave`), touched when it did not, and its cookie is set when it is new and
 * saved, or with `rolling`, or when a session with an end changed. A change of user moves the
 * session to a new id (no fixation), and a cross-site request may not start one (login CSRF).
 * It sets `req.session` and `req.sessionID`.
 */
export class RequestSession implements SessionControl {
  #id: string;
  #token: string | null;
  /** Stored under `#id`, and the request's cookie names it. */
  #cookieMatches: boolean;
  #stored: boolean;
  #originalId: string;
  #originalHash: string;
  #savedHash: string | null;
  #userId: string | null;
  #touched = false;
  #destroyed = false;
  /** Headers for the response, set by the hold just before it starts (the app's are frozen). */
  readonly pending: Headers[] = [];

  out(headers: Headers | null): void {
    if (headers && !this.res.headersSent) this.pending.push(headers);
  }

  /** A moved legacy session: runs once it is saved under its new id or ended here. */
  onSettled: ((pair: string | null) => Promise<void>) | null = null;

  constructor(
    private readonly backend: Backend,
    private readonly rules: Rules,
    private readonly req: Request,
    private readonly res: Response,
    private readonly request: RequestLike,
    loaded: LoadedSession | null,
    private readonly sameSite: boolean,
  ) {
    const fresh = loaded ? null : backend.fresh(req);
    this.#id = loaded?.id ?? fresh?.id ?? "";
    this.#token = loaded?.token ?? fresh?.token ?? null;
    this.#stored = this.#cookieMatches = loaded !== null;
    const session = new Session(this, loaded?.data ?? {}, this.#cookieOf(loaded?.cookie ?? null));
    this.#originalId = this.#id;
    this.#originalHash = dataText(session);
    this.#savedHash = rules.resave ? null : this.#originalHash;
    this.#userId = loaded ? rules.userIdOf(loaded.data) : null;
    this.#install(session);
    Object.defineProperty(req, "sessionID", {
      configurable: true,
      enumerable: true,
      get: () => this.#id,
      // The id names a stored record bound to the cookie's secret; it is not the app's to set.
      set: () => {},
    });
  }

  /** A moved legacy session: stored nowhere yet, so it must be saved under its new id. */
  markUnsaved(): void {
    this.#renew();
    this.#originalId = this.#id;
    this.#originalHash = "";
    this.#savedHash = null;
  }

  id(): string {
    return this.#id;
  }

  async save(session: Session): Promise<void> {
    await this.#write(session, dataText(session));
  }

  async reload(session: Session): Promise<void> {
    const fresh = this.#stored ? await this.backend.reread(this.#id) : null;
    if (!fresh) throw new Error("failed to load session");
    clearData(session);
    assignData(session, fresh.data);
    if (fresh.cookie) session.cookie = this.#cookieOf(fresh.cookie);
    this.#originalHash = dataText(session);
    if (!this.rules.resave) this.#savedHash = this.#originalHash;
  }

  async destroy(session: Session): Promise<void> {
    this.#destroyed = true;
    if (this.#current() === session) this.#slot().session = undefined;
    await this.#settle();
    if (!this.#stored) return;
    this.#stored = false;
    const headers = await this.backend.destroy(this.#id, this.request);
    this.out(headers);
  }

  async regenerate(session: Session): Promise<void> {
    await this.#settle();
    if (this.#stored) await this.backend.destroy(this.#id, this.request);
    this.#renew();
    if (this.#current() === session) this.#install(new Session(this, {}, this.#cookieOf(null)));
  }

  /** Runs when the response is about to start, and again when it ends. */
  async commit(): Promise<void> {
    if (this.#destroyed) return;
    const current = this.#current();
    if (current === null || current === undefined) {
      if (this.rules.unsetDestroy) await this.#settle();
      if (this.rules.unsetDestroy && this.#stored) {
        this.#stored = false;
        const headers = await this.backend.destroy(this.#id, this.request);
        this.out(headers);
      }
      this.#destroyed = true;
      return;
    }
    const session = current instanceof Session ? current : this.#adopt(current);
    if (!this.#touched) {
      this.#touched = true;
      session.touch();
    }
    const hash = dataText(session);
    const modified = this.#originalId !== this.#id || this.#originalHash !== hash;
    const shouldSave =
      !this.rules.saveUninitialized && !this.#stored
        ? modified
        : !(this.#stored && this.#savedHash === hash) &&
          // A cross-site request (a webhook, a form_post callback) that did not touch a new
          // session gets the route's answer without one, rather than a 403.
          (this.#stored || this.sameSite || modified);
    if (shouldSave) {
      await this.#write(session, hash);
    } else if (this.#cookieMatches) {
      await this.backend.touch(this.#id, JSON.parse(hash) as JsonObject, session.cookie);
    }
    if (this.#destroyed) return;
    // Read after the write: a sign-in moved the session to a new id, whose cookie must go out.
    const cookieMatched = this.#cookieMatches;
    const setCookie = !cookieMatched
      ? this.#stored && (this.rules.saveUninitialized || modified)
      : this.rules.rolling || (session.cookie.expires !== null && modified);
    if (setCookie && this.#token !== null) {
      const header = this.backend.cookieHeader(this.#token, session.cookie);
      if (header) this.out(new Headers({ "set-cookie": header }));
    }
  }

  async #write(session: Session, text: string): Promise<void> {
    const data = JSON.parse(text) as JsonObject;
    const userId = this.rules.userIdOf(data);
    if (this.#stored && userId !== null && userId !== this.#userId) {
      // A sign-in into an existing session: the same data under a new id.
      await this.backend.destroy(this.#id, this.request);
      this.#renew();
    }
    if (!this.#stored && !this.sameSite) {
      throw new SessionError("CSRF_FAILED", "a cross-site request may not start a session");
    }
    const written = await this.backend.write({
      id: this.#id === "" ? null : this.#id,
      existing: this.#stored,
      token: this.#token,
      data,
      cookie: session.cookie,
      userId,
      req: this.req,
      request: this.request,
    });
    this.out(written.headers);
    if (written.gone) {
      this.#stored = false;
      this.#destroyed = true;
      return;
    }
    this.#id = written.id;
    this.#stored = true;
    this.#userId = userId;
    this.#savedHash = text;
    await this.#settle(this.backend.pairOf(this.#token, written.headers));
  }

  /** `pair`: the new session's cookie (`name=value`), or `null` when it ended. */
  async #settle(pair: string | null = null): Promise<void> {
    const settled = this.onSettled;
    this.onSettled = null;
    await settled?.(pair);
  }

  /** A new id (and cookie value) for a session not stored yet. */
  #renew(): void {
    const fresh = this.backend.fresh(this.req);
    this.#id = fresh?.id ?? "";
    this.#token = fresh?.token ?? null;
    this.#stored = this.#cookieMatches = false;
  }

  /**
   * `req.session` as this layer sees it: anything a route assigned, or nothing. Express's
   * `Request` types it as the Express adapter's session, a different object.
   */
  #slot(): { session?: unknown } {
    return this.req;
  }

  #current(): unknown {
    return this.#slot().session;
  }

  #install(session: Session): void {
    this.#slot().session = session;
  }

  /** `req.session = {...}`: the object's data becomes the session's. */
  #adopt(value: unknown): Session {
    const data = typeof value === "object" ? (JSON.parse(JSON.stringify(value)) as JsonObject) : {};
    const session = new Session(this, data, this.#cookieOf(null));
    this.#install(session);
    return session;
  }

  #cookieOf(stored: CookieJson | null): Cookie {
    return new Cookie(stored ?? this.rules.cookie);
  }
}
