import { Hono } from "hono";
import {
  requireSession,
  sessionErrors,
  sessionkit,
  signIn,
  signOut,
} from "sessionkit/adapters/hono";
import { checkPassword } from "../users.js";

/** Sign-in, a protected route and sign-out, the Hono way. */
export function createApp(manager) {
  const app = new Hono();
  app.use(sessionkit(manager));
  app.onError(sessionErrors()); // 503 for an unreachable store, 403 for a cross-site sign-in

  app.post("/login", async (c) => {
    const body = await c.req.json().catch(() => ({}));
    const userId = checkPassword(body.username, body.password);
    if (!userId) return c.json({ error: "wrong username or password" }, 401);
    const session = await signIn(c, { userId });
    return c.json({ userId: session.userId });
  });

  app.get("/me", requireSession(), (c) => c.json({ userId: c.var.session.userId }));

  app.post("/logout", async (c) => {
    await signOut(c);
    return c.body(null, 204);
  });
  return app;
}
