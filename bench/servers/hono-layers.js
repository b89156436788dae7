import { createServer } from "node:http";
import { getRequestListener } from "@hono/node-server";
import { Hono } from "hono";
import { announce, BODY } from "./common.js";

// Hono bare with as many middleware layers as the sessionkit servers use (the session
// middleware and the route guard), each only awaiting the next: what Hono itself charges for
// the two layers, to tell it apart from what the session work costs.
const app = new Hono();
app.use(
  "/me",
  async (_c, next) => {
    await next();
  },
  async (_c, next) => {
    await next();
  },
);
app.get("/me", (c) => c.body(BODY, 200, { "content-type": "application/json" }));
announce(createServer(getRequestListener(app.fetch)));
