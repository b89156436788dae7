import { createServer } from "node:http";
import express from "express";
import { announce, BODY } from "./common.js";

// Express bare with as many layers as the sessionkit servers use (an app-level middleware and
// a route guard before the handler), each doing nothing: what Express itself charges for the
// two layers, to tell it apart from what the session work costs.
const app = express();
app.use((_req, _res, next) => next());
app.get(
  "/me",
  (_req, _res, next) => next(),
  (_req, res) => {
    res.type("application/json").send(BODY);
  },
);
announce(createServer(app));
