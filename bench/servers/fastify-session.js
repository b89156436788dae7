import fastifyCookie from "@fastify/cookie";
import fastifySession from "@fastify/session";
import Fastify from "fastify";
import { announceFastify, BODY } from "./common.js";

// @fastify/session as its README sets it up (with @fastify/cookie), default in-memory store.
const app = Fastify();
await app.register(fastifyCookie);
await app.register(fastifySession, {
  secret: "bench-secret-bench-secret-bench-secret",
  cookie: { secure: false },
  saveUninitialized: false,
});
app.post("/login", async (request) => {
  request.session.set("userId", "u1");
  return "ok";
});
app.get("/me", async (request, reply) => {
  if (!request.session.get("userId")) return reply.code(401).send();
  return reply.type("application/json").send(BODY);
});
await announceFastify(app, { login: "/login" });
