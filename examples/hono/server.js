// node examples/hono/server.js: listens on 127.0.0.1:3001 (PORT, ORIGIN, DATABASE: see ../start.js).
import { serve } from "@hono/node-server";
import { announce, cannotListen, exampleManager, port } from "../start.js";
import { createApp } from "./app.js";

const app = createApp(exampleManager());
const server = serve({ fetch: app.fetch, port, hostname: "127.0.0.1" }, (info) => announce(info));
server.once("error", cannotListen);
