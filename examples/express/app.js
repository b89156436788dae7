import express from "express";
import {
  requireSession,
  sessionErrors,
  sessionkit,
  signIn,
  signOut,
} from "sessionkit/adapters/express";
import { checkPassword } from "../users.js";

/** Sign-in, a protected route and sign-out, the Express way. */
export function createApp(manager) {
  const app = express();
  app.use(express.json());
  app.use(sessionkit(manager));

  app.post("/login", async (req, res) => {
    const userId = checkPassword(req.body?.username, req.body?.password);
    if (!userId) return res.status(401).json({ error: "wrong username or password" });
    const session = await signIn(req, res, { userId });
    res.json({ userId: session.userId });
  });

  app.get("/me", requireSession(), (req, res) => {
    res.json({ userId: req.session.userId });
  });

  app.post("/logout", async (req, res) => {
    await signOut(req, res);
    res.status(204).end();
  });

  app.use(sessionErrors()); // 503 for an unreachable store, 403 for a cross-site sign-in
  return app;
}
