import type { ServerResponse } from "node:http";

/**
 * Adds `Set-Cookie` lines after those the response already has: Node keeps them as one list
 * header, which a plain `setHeader` would replace. `setHeader` is the response's own unless
 * the caller must go around a wrapper of it (the express-session layer's hold).
 */
export function appendSetCookie(
  res: ServerResponse,
  lines: readonly string[],
  setHeader: (name: string, value: readonly string[]) => unknown = res.setHeader,
): void {
  const before = res.getHeader("set-cookie");
  const list = before === undefined ? [] : [before].flat().map(String);
  setHeader.call(res, "set-cookie", [...list, ...lines]);
}
