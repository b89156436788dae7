import { createServer } from "node:http";
import express from "express";
import { requireSession, sessionkit } from "../../dist/adapters/express.js";
import { announce, BODY, sessionkitManager } from "./common.js";

// The Express adapter with a jwt or hybrid manager, the access token sent as Bearer like the
// Fastify and Hono token servers: the middleware, and the guard on the route.
const { manager, token } = await sessionkitManager(process.argv[2] ?? "jwt");
const app = express();
app.use(sessionkit(manager));
app.get("/me", requireSession(), (_req, res) => {
  res.type("application/json").send(BODY);
});
announce(createServer(app), { headers: { authorization: `Bearer ${token}` } });
