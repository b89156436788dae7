import fastifyCookie from "@fastify/cookie";
import fastifySession from "@fastify/session";
import Fastify from "fastify";
import { announceFastifyPeer } from "./common.js";

// @fastify/session as its README sets it up (with @fastify/cookie), default in-memory store.
const app = Fastify();
await app.register(fastifyCookie);
await app.register(fastifySession, {
  secret: "bench-secret-bench-secret-bench-secret",
  cookie: { secure: false },
  saveUninitialized: false,
});
await announceFastifyPeer(app);
