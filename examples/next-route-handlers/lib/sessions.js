// One manager per server process: Next.js keeps this module loaded between requests.
import { createSessionManager } from "sessionkit";
import { sqliteStore } from "sessionkit/stores/sqlite";
import { createRoutes } from "./routes.js";

export const sessions = createSessionManager({
  strategy: "id",
  store: sqliteStore({ path: process.env.DATABASE ?? "data/example.db" }),
  csrf: { origins: [process.env.ORIGIN ?? "http://localhost:3000"] },
});

export const routes = createRoutes(sessions);
