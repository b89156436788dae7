import fastifySecureSession from "@fastify/secure-session";
import Fastify from "fastify";
import { announceFastify, BENCH_SECRET, BODY } from "./common.js";

// @fastify/secure-session: the whole session sealed in the cookie (libsodium), no store.
const app = Fastify();
await app.register(fastifySecureSession, { key: BENCH_SECRET, cookie: { path: "/" } });
app.post("/login", async (request) => {
  request.session.set("userId", "u1");
  return "ok";
});
app.get("/me", async (request, reply) => {
  if (!request.session.get("userId")) return reply.code(401).send();
  return reply.type("application/json").send(BODY);
});
await announceFastify(app, { login: "/login" });
