import fastifySecureSession from "@fastify/secure-session";
import Fastify from "fastify";
import { announceFastifyPeer, BENCH_SECRET } from "./common.js";

// @fastify/secure-session: the whole session sealed in the cookie (libsodium), no store.
const app = Fastify();
await app.register(fastifySecureSession, { key: BENCH_SECRET, cookie: { path: "/" } });
await announceFastifyPeer(app);
