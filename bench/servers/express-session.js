import { createServer } from "node:http";
import express from "express";
import session from "express-session";
import { announce, BODY } from "./common.js";

// express-session as its README sets it up, with its default MemoryStore.
const app = express();
app.use(
  session({
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
