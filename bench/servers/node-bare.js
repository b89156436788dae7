import { createServer } from "node:http";
import { announce, BODY } from "./common.js";

const server = createServer((_req, res) => {
  res.setHeader("content-type", "application/json");
  res.end(BODY);
});
announce(server);
