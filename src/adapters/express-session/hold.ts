import type { OutgoingHttpHeaders, ServerResponse } from "node:http";

/**
 * The response's first bytes wait for the session: express-session saves before the response
 * ends, and a new session's cookie must be known before the headers leave. Node has no async
 * hook before headers are sent, hence the patch of `writeHead`, `write` and `end` (what
 * express-session and on-headers patch too). `commit` runs at the first write or at `end`,
 * and once more at `end` if the body had started; when it fails before anything was sent,
 * `fail` answers instead (once: it writes through the original methods, never through this
 * patch again).
 */
export function holdResponse(
  res: ServerResponse,
  hooks: { commit(): Promise<void>; fail(error: unknown, send: Send): void },
): void {
  const write = res.write;
  const end = res.end;
  const writeHead = res.writeHead;
  let queue = Promise.resolve();
  let pending = 0;
  let committed = false;
  let ended = false;
  let failed = false;

  const step = (work: () => unknown) => {
    pending++;
    queue = queue.then(async () => {
      try {
        unfreeze();
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
  const frozen = () => {
    throw Object.assign(new Error("Cannot set headers after they are sent to the client"), {
      code: "ERR_HTTP_HEADERS_SENT",
    });
  };
  const unfreeze = () => {
    if ((res as { setHeader: unknown }).setHeader === frozen) {
      delete (res as { setHeader?: unknown }).setHeader;
    }
  };
  const restore = () => {
    res.write = write;
    res.end = end;
    res.writeHead = writeHead;
    unfreeze();
  };
  const send: Send = (status, headers, body) => {
    restore();
    for (const name of res.getHeaderNames()) res.removeHeader(name);
    res.statusCode = status;
    for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
    (end as (chunk: string) => ServerResponse).call(res, body);
  };

  // Headers given to writeHead wait on the response object, as if set one by one, so that
  // the session's cookie can still be added after them.
  res.writeHead = function heldWriteHead(this: ServerResponse, status: number, ...rest: unknown[]) {
    if (committed && pending === 0) {
      return (writeHead as (...args: unknown[]) => ServerResponse).call(this, status, ...rest);
    }
    const [first, second] = rest;
    if (typeof first === "string") this.statusMessage = first;
    this.statusCode = status;
    applyHeaders(this, typeof first === "string" ? second : first);
    return this;
  } as ServerResponse["writeHead"];

  res.write = function heldWrite(this: ServerResponse, ...args: unknown[]) {
    // Node emits an uncaught error for a write after end; a session layer must not add one.
    if (ended) return false;
    if (committed && pending === 0) return write.apply(this, args as never);
    if (!committed) {
      committed = true;
      step(async () => {
        await hooks.commit();
        // The headers are decided: Node's own implicit writeHead must go through from here.
        res.writeHead = writeHead;
      });
    }
    step(() => write.apply(res, args as never));
    return true;
  } as ServerResponse["write"];

  res.end = function heldEnd(this: ServerResponse, ...args: unknown[]) {
    if (ended) return this;
    ended = true;
    committed = true;
    step(() => hooks.commit());
    step(() => {
      restore();
      end.apply(res, args as never);
    });
    // As after Node's own end: headers can no longer change (a second `res.send` throws
    // synchronously, and the client keeps the first answer).
    (res as { setHeader: unknown }).setHeader = frozen;
    return this;
  } as ServerResponse["end"];
}

export type Send = (status: number, headers: Record<string, string>, body: string) => void;

function applyHeaders(res: ServerResponse, headers: unknown): void {
  if (!headers) return;
  const pairs: Array<[string, unknown]> = Array.isArray(headers)
    ? pairsOf(headers)
    : Object.entries(headers as OutgoingHttpHeaders);
  for (const [name, value] of pairs) {
    if (value === undefined) continue;
    if (name.toLowerCase() === "set-cookie") {
      const before = res.getHeader("set-cookie");
      const list = before === undefined ? [] : [before].flat().map(String);
      res.setHeader("set-cookie", [...list, ...[value].flat().map(String)]);
    } else {
      res.setHeader(name, value as string);
    }
  }
}

/** writeHead's flat `[name, value, name, value]` or `[[name, value]]` forms. */
function pairsOf(list: unknown[]): Array<[string, unknown]> {
  if (list.every(Array.isArray)) return list as Array<[string, unknown]>;
  const out: Array<[string, unknown]> = [];
  for (let i = 0; i + 1 < list.length; i += 2) out.push([String(list[i]), list[i + 1]]);
  return out;
}
