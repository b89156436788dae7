import Fastify from "fastify";
import { requireSession, sessionkit } from "../../dist/adapters/fastify.js";
import { announceFastify, BODY, sessionkitManager } from "./common.js";

// The Fastify adapter as its docs set it up: the plugin, and the guard on the route.
const kind = process.argv[2] ?? "memory";
const { manager, cookie, token } = await sessionkitManager(kind);
const app = Fastify();
await app.register(sessionkit, { manager });
app.get("/me", { onRequest: requireSession }, async (_request, reply) =>
  reply.type("application/json").send(BODY),
);
const bearer = kind === "jwt" || kind === "hybrid";
await announceFastify(app, bearer ? { headers: { authorization: `Bearer ${token}` } } : { cookie });
