import { serve } from "@hono/node-server";
import { announce, exampleManager, port } from "../start.js";
import { createApp } from "./app.js";

const app = createApp(exampleManager());
serve({ fetch: app.fetch, port, hostname: "127.0.0.1" }, (info) => announce(info));
