import Fastify from "fastify";
import { requireSession, sessionkit } from "sessionkit/adapters/fastify";
import { checkPassword } from "../users.js";

/** Sign-in, a protected route and sign-out, the Fastify way. */
export async function createApp(manager) {
  const app = Fastify();
  await app.register(sessionkit, { manager });

  app.post("/login", async (request, reply) => {
    const userId = checkPassword(request.body?.username, request.body?.password);
    if (!userId) return reply.code(401).send({ error: "wrong username or password" });
    const session = await reply.signIn({ userId });
    return { userId: session.userId };
  });

  app.get("/me", { onRequest: requireSession }, async (request) => ({
    userId: request.session.userId,
  }));

  app.post("/logout", async (_request, reply) => {
    await reply.signOut();
    return reply.code(204).send();
  });

  // The plugin answers sessionkit's errors (403 cross-site, 503 store down) as problem+json.
  return app;
}
