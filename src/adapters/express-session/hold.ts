import { type OutgoingHttpHeaders, OutgoingMessage, type ServerResponse } from "node:http";
import { appendSetCookie } from "../node-headers.js";

export type Send = (status: number, headers: Record<string, string>, body: string) => void;

interface Hooks {
  /** Saves, touches or ends the session; may add headers for `headers` to hand over. */
  commit(): Promise<void>;
  /** The session's headers for the response, taken once each. */
  headers(): Headers[];
  /** Answers instead of the route when `commit` failed before anything was sent. */
  fail(error: unknown, send: Send): void;
}

const proto = OutgoingMessage.prototype;
const FROZEN = ["setHeader", "removeHeader", "appendHeader", "writeHead"] as const;

/**
 * The response's first bytes wait for the session: express-session saves before the response
 * ends, and a new session's cookie must be known before the headers leave. The save is async
 * (a store call) and must finish before anything is sent. An on-headers-style hook cannot
 * wait for it: it runs synchronously inside `writeHead`, which sends on return. Nor can
 * Express: it has no async point before the response goes out (`finish` and `close` come
 * after). Hence the patch of `writeHead`, `write` and `end` (what express-session and
 * on-headers patch too). `commit` runs at the first write or at `end`,
 * and once more at `end` if the body had started. From `end` on, the route's answer is fixed
 * as Node fixes it once sent: status and headers can no longer change (a second `res.send`
 * throws `ERR_HTTP_HEADERS_SENT`), only the session's own headers are added. When `commit`
 * fails before anything was sent, `fail` answers instead, once, through the original methods.
 */
export function holdResponse(res: ServerResponse, hooks: Hooks): void {
  const write = res.write;
  const end = res.end;
  const writeHead = res.writeHead;
  let queue = Promise.resolve();
  let pending = 0;
  let committed = false;
  let ended = false;
  let failed = false;
  let status = 0;

  const step = (work: () => unknown) => {
    pending++;
    queue = queue.then(async () => {
      try {
        if (!failed) await work();
      } catch (error) {
        failed = true;
        restore();
        // Once the status line has left, the only honest answer is a cut connection.
        if (res.headersSent) res.destroy();
        else hooks.fail(error, send);
      } finally {
        pending--;
      }
    });
  };
  const apply = () => {
    for (const headers of hooks.headers()) {
      if (res.headersSent) return;
      const cookies = headers.getSetCookie();
      if (cookies.length > 0) appendSetCookie(res, cookies, proto.setHeader);
      headers.forEach((value, name) => {
        if (name !== "set-cookie") proto.setHeader.call(res, name, value);
      });
    }
  };
  const frozen = () => {
    throw Object.assign(new Error("Cannot set headers after they are sent to the client"), {
      code: "ERR_HTTP_HEADERS_SENT",
    });
  };
  const freeze = () => {
    status = res.statusCode;
    for (const name of FROZEN) Object.assign(res, { [name]: frozen });
    Object.defineProperty(res, "statusCode", {
      configurable: true,
      get: () => status,
      set: () => {},
    });
  };
  const restore = () => {
    res.write = write;
    res.end = end;
    for (const name of FROZEN) {
      if ((res as unknown as Record<string, unknown>)[name] === frozen) {
        delete (res as unknown as Record<string, unknown>)[name];
      }
    }
    res.writeHead = writeHead;
    if (Object.getOwnPropertyDescriptor(res, "statusCode")?.get) {
      delete (res as { statusCode?: number }).statusCode;
      res.statusCode = status;
    }
  };
  const send: Send = (code, headers, body) => {
    restore();
    for (const name of res.getHeaderNames()) res.removeHeader(name);
    res.statusCode = code;
    for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
    (end as (chunk: string) => ServerResponse).call(res, body);
  };

  // Headers given to writeHead wait on the response object, as if set one by one, so that
  // the session's cookie can still be added after them.
  res.writeHead = function heldWriteHead(this: ServerResponse, code: number, ...rest: unknown[]) {
    const [first, second] = rest;
    if (typeof first === "string") this.statusMessage = first;
    this.statusCode = code;
    applyHeaders(this, typeof first === "string" ? second : first);
    return this;
  } as ServerResponse["writeHead"];

  res.write = function heldWrite(this: ServerResponse, ...args: unknown[]) {
    // Node emits an uncaught error for a write after end; a session layer must not add one.
    if (ended) return false;
    if (committed && pending === 0) return Reflect.apply(write, this, args);
    if (!committed) {
      committed = true;
      step(async () => {
        await hooks.commit();
        apply();
        // The headers are decided: Node's own implicit writeHead must go through from here.
        res.writeHead = writeHead;
      });
    }
    step(() => Reflect.apply(write, res, args));
    return true;
  } as ServerResponse["write"];

  res.end = function heldEnd(this: ServerResponse, ...args: unknown[]) {
    if (ended) return this;
    ended = true;
    committed = true;
    freeze();
    step(() => hooks.commit());
    step(() => {
      restore();
      apply();
      Reflect.apply(end, res, args);
    });
    return this;
  } as ServerResponse["end"];
}

function applyHeaders(res: ServerResponse, headers: unknown): void {
  if (!headers) return;
  const pairs: Array<[string, unknown]> = Array.isArray(headers)
    ? pairsOf(headers)
    : Object.entries(headers as OutgoingHttpHeaders);
  for (const [name, value] of pairs) {
    if (value === undefined) continue;
    if (name.toLowerCase() === "set-cookie") {
      appendSetCookie(res, [value].flat().map(String));
    } else {
      res.setHeader(name, value as string);
    }
  }
}

/** writeHead's flat `[name, value, name, value]` or `[[name, value]]` forms. */
function pairsOf(list: unknown[]): Array<[string, unknown]> {
  if (list.every(Array.isArray)) return list as Array<[string, unknown]>;
  const out: Array<[string, unknown]> = [];
  for (let i = 0; i < list.length; i++) {
    if (i + 1 < list.length) out.push([String(list[i]), list[i + 1]]);
    i++;
  }
  return out;
}
