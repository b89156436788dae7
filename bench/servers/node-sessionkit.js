import { createServer } from "node:http";
import { authenticateNode } from "../../dist/adapters/node.js";
import { announce, BODY, sessionkitManager } from "./common.js";

const { manager, cookie } = await sessionkitManager(process.argv[2] ?? "memory");
const server = createServer(async (req, res) => {
  const session = await authenticateNode(manager, req, res);
  if (!session) return;
  res.setHeader("content-type", "application/json");
  res.end(BODY);
});
announce(server, { cookie });
