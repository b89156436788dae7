import { announce, exampleManager, port } from "../start.js";
import { createApp } from "./app.js";

const app = await createApp(exampleManager());
await app.listen({ port, host: "127.0.0.1" });
announce(app.server.address());
