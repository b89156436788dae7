// One manager per server process. Next.js bundles proxy.js, the pages and the route handlers
// apart, each with its own copy of this module (and of sessionkit): the manager is kept on
// globalThis so that every copy uses the same one, and the same memory store.
import { createSessionManager } from "sessionkit";
import { memoryStore } from "sessionkit/stores/memory";
import { createRoutes } from "./routes.js";

const KEY = Symbol.for("sessionkit.examples.next");
const env = process.env;

function create() {
  return createSessionManager({
    strategy: "id",
    // In memory, for the example: a real deployment keeps sessions in SQLite, Redis or
    // PostgreSQL (`sessionkit/stores/*`), which every server process shares.
    store: memoryStore(),
    csrf: { origins: [env.ORIGIN ?? "http://localhost:3000"] },
    // Short values let a test watch several renewals; the defaults otherwise.
    lifetimes: {
      idle: env.SESSION_IDLE ?? "30m",
      absolute: env.SESSION_ABSOLUTE ?? "12h",
      renewal: env.SESSION_RENEWAL ?? "1h",
      grace: env.SESSION_GRACE ?? "10s",
    },
  });
}

globalThis[KEY] ??= create();

/** @type {import("sessionkit").SessionManager} */
export const sessions = globalThis[KEY];
export const routes = createRoutes(sessions);
