import { createServer } from "node:http";
import express from "express";
import session from "express-session";
import { announce, BODY, REDIS_URL, redisPrefix } from "./common.js";

// express-session as its README sets it up: its default MemoryStore, or with `redis` as the
// argument, connect-redis on the machine's Redis as connect-redis's README sets it up.
let store;
if (process.argv[2] === "redis") {
  const { createClient } = await import("redis");
  const { RedisStore } = await import("connect-redis");
  const client = await createClient({ url: REDIS_URL }).connect();
  store = new RedisStore({ client, prefix: redisPrefix("cr") });
}
const app = express();
app.use(
  session({
    store,
    secret: "bench-secret-bench-secret-bench-secret",
    resave: false,
    saveUninitialized: false,
  }),
);
app.post("/login", (req, res) => {
  req.session.userId = "u1";
  res.send("ok");
});
app.get("/me", (req, res) => {
  if (!req.session.userId) return res.status(401).end();
  res.type("application/json").send(BODY);
});
announce(createServer(app), { login: "/login" });
