import { BlockList, isIP } from "node:net";
import type { HttpBindings } from "@hono/node-server";
import type { Context } from "hono";
import { applyHeaders, problem } from "../adapters/fetch.js";
import { SessionError } from "../errors.js";
import type { SessionManager } from "../index.js";
import { readJsonObject } from "./body.js";
import type { User } from "./users.js";

export type Env = { Bindings: Partial<HttpBindings> };

/**
 * Which proxies may say who the client is: `0` (none: the connection's address, and
 * X-Forwarded-For ignored), the number of proxies in front of the server, or their addresses
 * (IP or CIDR).
 */
export type TrustProxy = number | readonly string[];

export type ClientAddress = (c: Context<Env>) => string | null;

/** One spelling per address: an IPv4 client of a dual-stack socket shows as ::ffff:a.b.c.d. */
const plain = (address: string) =>
  address.startsWith("::ffff:") && isIP(address.slice(7)) === 4 ? address.slice(7) : address;

/** An entry that is not an address is kept as a name, this long at most (it is stored with sessions). */
const MAX_ENTRY = 100;

/**
 * An X-Forwarded-For entry without the port some proxies append (`a.b.c.d:port`,
 * `[v6]:port`): with it, no entry would read as an address.
 */
const withoutPort = (entry: string) => {
  const v4 = /^([\d.]+):\d{1,5}$/.exec(entry)?.[1];
  if (v4 && isIP(v4) === 4) return v4;
  const v6 = /^\[([^\]]+)\](?::\d{1,5})?$/.exec(entry)?.[1];
  return v6 && isIP(v6) === 6 ? v6 : entry;
};

/** A proxy given as `address` or `address/prefix`, or null when it is neither. */
export function proxyEntry(
  entry: string,
): { address: string; prefix: number; family: "ipv4" | "ipv6" } | null {
  const [address = "", prefix, ...rest] = entry.trim().split("/");
  const version = isIP(address);
  if (version === 0 || rest.length > 0) return null;
  const bits = version === 4 ? 32 : 128;
  if (prefix !== undefined && (!/^\d{1,3}$/.test(prefix) || Number(prefix) > bits)) return null;
  return {
    address,
    prefix: prefix === undefined ? bits : Number(prefix),
    family: version === 4 ? "ipv4" : "ipv6",
  };
}

/**
 * The client's address, read from X-Forwarded-For only as far as trusted proxies wrote it:
 * walking from the connection leftwards, each trusted hop vouches for the entry it appended,
 * and the first address no trusted proxy stands behind is the client. The leftmost entry is
 * whatever the client chose to send, so it is never taken on its own word.
 */
export function clientAddress(trust: TrustProxy = 0): ClientAddress {
  const peer = (c: Context<Env>) => {
    const address = c.env?.incoming?.socket?.remoteAddress;
    return address ? plain(address) : null;
  };
  let trusts: (address: string, hop: number) => boolean;
  if (typeof trust === "number") {
    if (!Number.isSafeInteger(trust) || trust < 0) {
      throw new SessionError("CONFIG_INVALID", "trustProxy: a count of proxies must be 0 or more");
    }
    if (trust === 0) return peer;
    trusts = (_, hop) => hop < trust;
  } else {
    const proxies = new BlockList();
    for (const entry of trust) {
      const parsed = proxyEntry(entry);
      if (!parsed) {
        throw new SessionError(
          "CONFIG_INVALID",
          `trustProxy: "${entry}" is not an IP address or CIDR block`,
        );
      }
      proxies.addSubnet(parsed.address, parsed.prefix, parsed.family);
    }
    trusts = (address) => proxies.check(address, isIP(address) === 4 ? "ipv4" : "ipv6");
  }
  return (c) => {
    const connection = peer(c);
    if (!connection) return null;
    const forwarded = (c.req.header("x-forwarded-for") ?? "")
      .split(",")
      .map((entry) => plain(withoutPort(entry.trim())));
    const chain = [...forwarded.filter((entry) => entry !== ""), connection];
    let i = chain.length - 1;
    while (i > 0 && trusts(chain[i] as string, chain.length - 1 - i)) {
      i--;
      // A trusted proxy vouched for this entry even if it is not an address: it names the
      // client by itself (keying it by the proxy would put every client on one counter).
      if (!isIP(chain[i] ?? "")) return (chain[i] as string).slice(0, MAX_ENTRY);
    }
    return chain[i] ?? connection;
  };
}

/** 429 with the seconds until the next attempt is allowed. */
export const tooMany = (wait: number, title: string) =>
  problem(429, "too_many_attempts", title, { "retry-after": String(wait) });

/** Password hashing is at capacity: a retry a moment later likely gets a turn. */
export const busy = () =>
  problem(503, "busy", "Too many password checks at once; try again shortly", {
    "retry-after": "1",
  });

export const json = (body: unknown, status = 200, headers?: Headers | null) => {
  const response = Response.json(body, { status });
  return headers ? applyHeaders(response, headers) : response;
};

export const publicUser = (user: User) => ({ id: user.id, username: user.username });

/** The cookie that carries a manager's token: the session's, the jwt's, or hybrid's access token. */
export const tokenCookie = (manager: SessionManager): string =>
  ({
    id: manager.cookieNames.session,
    jwt: manager.cookieNames.jwt,
    hybrid: manager.cookieNames.access,
  })[manager.strategy];

export function sessionJson(session: {
  id: string;
  strategy: string;
  createdAt: Date;
  expiresAt: Date;
  authTime: Date;
  deviceBound?: boolean;
}) {
  return {
    id: session.id,
    strategy: session.strategy,
    createdAt: session.createdAt.toISOString(),
    expiresAt: session.expiresAt.toISOString(),
    authTime: session.authTime.toISOString(),
    deviceBound: session.deviceBound === true,
  };
}

/**
 * The `token` a JSON body hands in (the inspector's, the lab's stolen copy): a string of at
 * most `maxLength`, or the 400 `refusal`.
 */
export async function readTokenBody(
  request: Request,
  maxLength: number,
  refusal: { code: string; title: string },
): Promise<{ ok: true; token: string } | { ok: false; response: Response }> {
  const body = await readJsonObject(request);
  if (!body.ok) return body;
  const token = body.value.token;
  if (typeof token !== "string" || token.length > maxLength) {
    return { ok: false, response: problem(400, refusal.code, refusal.title) };
  }
  return { ok: true, token };
}
