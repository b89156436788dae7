import { createServer } from "node:http";
import express from "express";
import { sessionMiddleware } from "../../dist/adapters/node.js";
import { announce, BODY, sessionkitManager } from "./common.js";

const { manager, cookie } = await sessionkitManager(process.argv[2] ?? "memory");
const app = express();
app.use(sessionMiddleware(manager));
app.get("/me", (_req, res) => {
  res.type("application/json").send(BODY);
});
announce(createServer(app), { cookie });
