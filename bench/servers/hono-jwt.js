import { createServer } from "node:http";
import { getRequestListener } from "@hono/node-server";
import { Hono } from "hono";
import { jwt, sign } from "hono/jwt";
import { announce, BENCH_SECRET, BODY } from "./common.js";

// hono/jwt as its documentation sets it up: the Authorization header, HS256.
const secret = BENCH_SECRET.toString("latin1");
const app = new Hono();
app.use("/me", jwt({ secret, alg: "HS256" }));
app.get("/me", (c) => c.body(BODY, 200, { "content-type": "application/json" }));
const now = Math.floor(Date.now() / 1000);
const token = await sign({ sub: "u1", iat: now, exp: now + 3600 }, secret, "HS256");
announce(createServer(getRequestListener(app.fetch)), {
  headers: { authorization: `Bearer ${token}` },
});
