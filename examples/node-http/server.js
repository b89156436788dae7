import { createServer } from "node:http";
import { announce, exampleManager, port } from "../start.js";
import { createApp } from "./app.js";

const server = createServer(createApp(exampleManager()));
server.listen(port, "127.0.0.1", () => announce(server.address()));
