import { createServer } from "node:http";
import express from "express";
import { requireSession, sessionkit } from "../../dist/adapters/express.js";
import { announce, BODY, sessionkitManager } from "./common.js";

// The Express adapter as its docs set it up: the middleware, and the guard on the route.
const { manager, cookie } = await sessionkitManager(process.argv[2] ?? "memory");
const app = express();
app.use(sessionkit(manager));
app.get("/me", requireSession(), (_req, res) => {
  res.type("application/json").send(BODY);
});
announce(createServer(app), { cookie });
