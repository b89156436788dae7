// node examples/express/server.js: listens on 127.0.0.1:3001 (PORT, ORIGIN, DATABASE: see ../start.js).
import { announce, cannotListen, exampleManager, port } from "../start.js";
import { createApp } from "./app.js";

// Express 5 hands a listen error (a taken port) to this callback instead of throwing it.
const server = createApp(exampleManager()).listen(port, "127.0.0.1", (error) =>
  error ? cannotListen(error) : announce(server.address()),
);
