// node examples/node-http/server.js: listens on 127.0.0.1:3001 (PORT, ORIGIN, DATABASE: see ../start.js).
import { createServer } from "node:http";
import { announce, cannotListen, exampleManager, port } from "../start.js";
import { createApp } from "./app.js";

const server = createServer(createApp(exampleManager()));
server.once("error", cannotListen);
server.listen(port, "127.0.0.1", () => announce(server.address()));
