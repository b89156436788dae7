import { announce, exampleManager, port } from "../start.js";
import { createApp } from "./app.js";

const server = createApp(exampleManager()).listen(port, "127.0.0.1", () =>
  announce(server.address()),
);
