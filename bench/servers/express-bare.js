import { createServer } from "node:http";
import express from "express";
import { announce, BODY } from "./common.js";

const app = express();
app.get("/me", (_req, res) => {
  res.type("application/json").send(BODY);
});
announce(createServer(app));
