import { createHmac } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import express from "express";
import { afterAll } from "vitest";
import session, {
  type ExpressSessionCompatOptions,
  type Session,
} from "../../src/adapters/express-session/index.js";

// An Express app on the express-session compatibility layer, over real HTTP, for the tests of
// the layer: its crashes and hangs, and the attacks on it.

const servers: Server[] = [];
afterAll(() => {
  for (const s of servers) s.close();
});

export type Route = (
  req: express.Request,
  res: express.Response,
  next: express.NextFunction,
) => unknown;

/** The layer's `req.session` (the Express adapter's typed one is another type). */
export const sess = (req: express.Request) => (req as unknown as { session: Session }).session;

/** Starts the app; the returned fetch sends what a browser on the site sends (same-origin). */
export async function startApp(
  options: ExpressSessionCompatOptions,
  route: Route,
  errorHandler?: express.ErrorRequestHandler,
) {
  const app = express();
  app.use(session(options));
  app.all("/{*path}", route);
  if (errorHandler) app.use(errorHandler);
  const server = createServer(app);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return (path = "/", init: RequestInit = {}) =>
    fetch(base + path, {
      ...init,
      headers: { "sec-fetch-site": "same-origin", ...(init.headers as object) },
    });
}

export const cookieOf = (response: Response) =>
  response.headers.getSetCookie()[0]?.split(";")[0] ?? "";

/** express-session's signed cookie value: `s:<sid>.<HMAC-SHA256 base64, unpadded>`, encoded. */
export const signLegacy = (sid: string, secret: string) =>
  encodeURIComponent(
    `s:${sid}.${createHmac("sha256", secret).update(sid).digest("base64").replace(/=+$/, "")}`,
  );

/** A JSON answer, read loosely: each assertion reads the fields it needs. */
export const json = async (r: Response | Promise<Response>) =>
  (await (await r).json()) as Record<string, unknown>;
