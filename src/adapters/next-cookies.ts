/**
 * Our own `Set-Cookie` lines as Next takes cookies: through `cookies().set` in a server action,
 * and in the `Cookie` header that the proxy forwards to the page.
 */

/** What the server-action helpers need of `await cookies()` from `next/headers`. */
export interface CookieJar {
  set(name: string, value: string, options: CookieSetOptions): unknown;
}

/** A `Set-Cookie` line as the options object of Next's `cookies().set`. */
export interface CookieSetOptions {
  path?: string;
  domain?: string;
  maxAge?: number;
  expires?: Date;
  httpOnly?: boolean;
  secure?: boolean;
  sameSite?: "strict" | "lax" | "none";
  partitioned?: boolean;
}

/**
 * The request headers for the page, with the `Cookie` header as the browser will send it
 * next time: renewed cookies replace their old values, cleared ones are gone.
 */
export function forwarded(headers: Headers, setCookies: string[]): Headers {
  const replaced = new Map<string, string | null>();
  for (const line of setCookies) {
    const { name, value, options } = parseSetCookie(line);
    replaced.set(name, options.maxAge === 0 ? null : value);
  }
  const kept = (headers.get("cookie") ?? "")
    .split(";")
    .map((pair) => pair.trim())
    .filter((pair) => pair !== "" && !replaced.has(pair.slice(0, pair.indexOf("=")).trim()));
  for (const [name, value] of replaced) if (value !== null) kept.push(`${name}=${value}`);
  const out = new Headers(headers);
  if (kept.length) out.set("cookie", kept.join("; "));
  else out.delete("cookie");
  return out;
}

/**
 * One of our own `Set-Cookie` lines (`cookies/serialize.ts` wrote it) as `cookies().set` takes it.
 *
 * @example
 * ```ts
 * "use server";
 * import { cookies, headers } from "next/headers";
 * import type { SessionManager } from "sessionkit";
 * import { parseSetCookie } from "sessionkit/adapters/next";
 *
 * declare const sessions: SessionManager;
 *
 * // By hand, what signInAction does: the session's Set-Cookie lines through cookies().set.
 * export async function startGuestSession() {
 *   const request = { method: "POST", headers: await headers() };
 *   const issued = await sessions.create({ userId: null, request });
 *   const jar = await cookies();
 *   for (const line of issued.headers.getSetCookie()) {
 *     const { name, value, options } = parseSetCookie(line);
 *     jar.set(name, value, options);
 *   }
 * }
 * ```
 */
export function parseSetCookie(line: string): {
  name: string;
  value: string;
  options: CookieSetOptions;
} {
  const [pair = "", ...attributes] = line.split(";");
  const eq = pair.indexOf("=");
  const options: CookieSetOptions = {};
  for (const attribute of attributes) {
    const [key = "", ...rest] = attribute.trim().split("=");
    const value = rest.join("=");
    switch (key.toLowerCase()) {
      case "path":
        options.path = value;
        break;
      case "domain":
        options.domain = value;
        break;
      case "max-age":
        options.maxAge = Number(value);
        break;
      case "expires":
        options.expires = new Date(value);
        break;
      case "httponly":
        options.httpOnly = true;
        break;
      case "secure":
        options.secure = true;
        break;
      case "samesite":
        options.sameSite = value.toLowerCase() as CookieSetOptions["sameSite"];
        break;
      case "partitioned":
        options.partitioned = true;
        break;
    }
  }
  return { name: pair.slice(0, eq).trim(), value: pair.slice(eq + 1).trim(), options };
}

/** Applies a manager's `Set-Cookie` headers through Next's cookie store (server actions). */
export function setCookies(jar: CookieJar, headers: Headers | null): void {
  for (const line of headers?.getSetCookie() ?? []) {
    const { name, value, options } = parseSetCookie(line);
    jar.set(name, value, options);
  }
}
