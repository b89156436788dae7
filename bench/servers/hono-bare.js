import { createServer } from "node:http";
import { getRequestListener } from "@hono/node-server";
import { Hono } from "hono";
import { announce, BODY } from "./common.js";

const app = new Hono();
app.get("/me", (c) => c.body(BODY, 200, { "content-type": "application/json" }));
announce(createServer(getRequestListener(app.fetch)));
