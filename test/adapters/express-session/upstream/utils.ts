// Helpers of express-session's suite (test/support/*.js, MIT), ported: parseSetCookie and
// writePatch as they were, the SmartStore and SyncStore test stores over our `Store`, and the
// same-origin request of a browser.
import type { ServerResponse } from "node:http";
import { inherits } from "node:util";

export function parseSetCookie(header: string) {
  const pattern = /\s*([^=;]+)(?:=([^;]*);?|;|$)/g;
  const pairs: Array<{ name: string; value: string | undefined }> = [];
  for (let match = pattern.exec(header); match; match = pattern.exec(header)) {
    pairs.push({ name: match[1] ?? "", value: match[2] });
  }
  const cookie = pairs.shift() as Record<string, unknown> & { name: string; value: string };
  for (const pair of pairs) cookie[pair.name.toLowerCase()] = pair.value || true;
  return cookie;
}

export function writePatch(res: ServerResponse) {
  const end = res.end;
  const write = res.write;
  let ended = false;
  res.end = function (this: ServerResponse, ...args: unknown[]) {
    ended = true;
    return (end as (...a: unknown[]) => ServerResponse).apply(this, args);
  } as ServerResponse["end"];
  res.write = function (this: ServerResponse, ...args: unknown[]) {
    if (ended) throw new Error("write after end");
    return (write as (...a: unknown[]) => boolean).apply(this, args);
  } as ServerResponse["write"];
}

type Callback = (error?: unknown, value?: unknown) => void;
interface SessionModule {
  Store: { call(self: unknown): void; prototype: object };
}

/** A store that never calls back for a missing session (express-session's SmartStore). */
export function smartStore(session: SessionModule) {
  function smart(this: { sessions: Record<string, string> }) {
    session.Store.call(this);
    this.sessions = Object.create(null);
  }
  inherits(smart, session.Store as unknown as new () => object);
  Object.assign(smart.prototype, {
    destroy(this: { sessions: Record<string, string> }, sid: string, callback: Callback) {
      delete this.sessions[sid];
      setImmediate(callback, null);
    },
    get(this: { sessions: Record<string, string> }, sid: string, callback: Callback) {
      const text = this.sessions[sid];
      if (!text) return;
      let sess = JSON.parse(text);
      if (sess.cookie) {
        sess.cookie.expires =
          typeof sess.cookie.expires === "string"
            ? new Date(sess.cookie.expires)
            : sess.cookie.expires;
        if (sess.cookie.expires && sess.cookie.expires <= Date.now()) {
          delete this.sessions[sid];
          sess = null;
        }
      }
      setImmediate(callback, null, sess);
    },
    set(this: { sessions: Record<string, string> }, sid: string, sess: unknown, cb: Callback) {
      this.sessions[sid] = JSON.stringify(sess);
      setImmediate(cb, null);
    },
  });
  return smart;
}

/** A store that calls back synchronously (express-session's SyncStore). */
export function syncStore(session: SessionModule) {
  function sync(this: { sessions: Record<string, string> }) {
    session.Store.call(this);
    this.sessions = Object.create(null);
  }
  inherits(sync, session.Store as unknown as new () => object);
  Object.assign(sync.prototype, {
    destroy(this: { sessions: Record<string, string> }, sid: string, callback: Callback) {
      delete this.sessions[sid];
      callback();
    },
    get(this: { sessions: Record<string, string> }, sid: string, callback: Callback) {
      callback(null, JSON.parse(this.sessions[sid] as string));
    },
    set(this: { sessions: Record<string, string> }, sid: string, sess: unknown, cb: Callback) {
      this.sessions[sid] = JSON.stringify(sess);
      cb();
    },
  });
  return sync;
}

type Agent = Record<string, (path: string) => { set(name: string, value: string): unknown }>;

/** supertest, with the `Sec-Fetch-Site: same-origin` that a browser sends on its own site. */
export function sameOriginRequest(supertest: (app: unknown) => unknown, app: unknown) {
  const agent = supertest(app) as Agent;
  return new Proxy(agent, {
    get(target, method: string) {
      const make = target[method];
      if (typeof make !== "function") return make;
      return (path: string) => make.call(target, path).set("sec-fetch-site", "same-origin");
    },
  });
}
