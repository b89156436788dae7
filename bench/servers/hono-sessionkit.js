import { createServer } from "node:http";
import { getRequestListener } from "@hono/node-server";
import { Hono } from "hono";
import { failureResponse } from "../../dist/adapters/fetch.js";
import { announce, BODY, sessionkitManager } from "./common.js";

// What a Hono integration on Node does: read the headers Node already parsed (c.env.incoming),
// since building a Fetch Headers object per request costs more than verifying the token;
// elsewhere (Bun, Deno) c.req.header(). Failures are answered by the fetch adapter.
const { manager, token } = await sessionkitManager(process.argv[2] ?? "jwt");
const app = new Hono();
app.use("/me", async (c, next) => {
  const incoming = c.env?.incoming;
  const get = incoming
    ? (name) => {
        const value = incoming.headers[name];
        return Array.isArray(value) ? value.join(", ") : (value ?? null);
      }
    : (name) => c.req.header(name) ?? null;
  const result = await manager.authenticate({ method: c.req.method, headers: { get } });
  if (!result.session) return failureResponse(result.failure, result.headers);
  c.set("session", result.session);
  await next();
});
app.get("/me", (c) => c.body(BODY, 200, { "content-type": "application/json" }));
announce(createServer(getRequestListener(app.fetch)), {
  headers: { authorization: `Bearer ${token}` },
});
