import { createServer, type RequestListener } from "node:http";
import type { AddressInfo } from "node:net";
import type { NextFunction, Request, Response } from "express";
import {
  requireSession,
  sessionErrors,
  sessionkit,
  signIn,
  signOut,
} from "../../src/adapters/express.js";
import { runAdapterScenarios } from "../../src/testing/index.js";

// Express 4, which does not catch rejected promises of handlers: the app passes errors to
// next() itself, as Express 4 apps do. Twice: the latest 4.x (installed as `express4`) and the
// oldest the peer range accepts, 4.17 (installed as `express417`, pinned to 4.17.3).
type Express4 = (() => RequestListener & {
  use(...handlers: unknown[]): void;
  get(path: string, ...handlers: unknown[]): void;
  post(path: string, ...handlers: unknown[]): void;
}) & { json(): unknown };
const versions = ["express4", "express417"];

const caught =
  (handler: (req: Request, res: Response) => Promise<void>) =>
  (req: Request, res: Response, next: NextFunction) => {
    handler(req, res).catch(next);
  };

for (const name of versions) {
  const express = (await import(name)).default as Express4;
  const { version } = (await import(`${name}/package.json`, { with: { type: "json" } }))
    .default as {
    version: string;
  };
  runAdapterScenarios(`express ${version}`, {
    async serve(manager) {
      const app = express();
      app.use(express.json());
      app.use(sessionkit(manager));
      app.post(
        "/login",
        caught(async (req, res) => {
          const ok = req.body?.username === "alice" && req.body?.password === "wonderland";
          if (!ok) return void res.status(401).json({ error: "wrong username or password" });
          const session = await signIn(req, res, { userId: "u-alice" });
          res.json({ userId: session.userId });
        }),
      );
      app.get("/me", requireSession(), (req: Request, res: Response) => {
        res.json({ userId: req.session?.userId });
      });
      app.post(
        "/logout",
        caught(async (req, res) => {
          await signOut(req, res);
          res.status(204).end();
        }),
      );
      app.use(sessionErrors());
      const server = createServer(app);
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      return {
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        close: () => new Promise<void>((resolve) => server.close(() => resolve())),
      };
    },
  });
}
