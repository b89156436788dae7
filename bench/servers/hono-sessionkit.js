import { createServer } from "node:http";
import { getRequestListener } from "@hono/node-server";
import { Hono } from "hono";
import { requireSession, sessionkit } from "../../dist/adapters/hono.js";
import { announce, BODY, sessionkitManager } from "./common.js";

// The Hono adapter as its docs set it up: the middleware, and the guard on the route.
const { manager, token } = await sessionkitManager(process.argv[2] ?? "jwt");
const app = new Hono();
app.use("/me", sessionkit(manager), requireSession());
app.get("/me", (c) => c.body(BODY, 200, { "content-type": "application/json" }));
announce(createServer(getRequestListener(app.fetch)), {
  headers: { authorization: `Bearer ${token}` },
});
