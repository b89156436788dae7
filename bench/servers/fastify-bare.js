import Fastify from "fastify";
import { announceFastify, BODY } from "./common.js";

const app = Fastify();
app.get("/me", async (_request, reply) => reply.type("application/json").send(BODY));
await announceFastify(app);
