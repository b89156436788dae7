// node examples/fastify/server.js: listens on 127.0.0.1:3001 (PORT, ORIGIN, DATABASE: see ../start.js).
import { announce, cannotListen, exampleManager, port } from "../start.js";
import { createApp } from "./app.js";

const app = await createApp(exampleManager());
try {
  await app.listen({ port, host: "127.0.0.1" });
  announce(app.server.address());
} catch (error) {
  cannotListen(error);
}
