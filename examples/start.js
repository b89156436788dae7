// What every example's server.js shares: a manager on SQLite, and the start-up line.
// PORT (default 3000), ORIGIN (the public origin, default http://localhost:PORT) and
// DATABASE (default data/example.db) come from the environment.
import { createSessionManager } from "sessionkit";
import { sqliteStore } from "sessionkit/stores/sqlite";

export const port = Number(process.env.PORT ?? 3000);

export function exampleManager() {
  const origin = process.env.ORIGIN ?? `http://localhost:${port}`;
  return createSessionManager({
    strategy: "id",
    store: sqliteStore({ path: process.env.DATABASE ?? "data/example.db" }),
    csrf: { origins: [origin] },
  });
}

export function announce(address) {
  const actual = typeof address === "object" && address ? address.port : port;
  console.log(`listening on http://127.0.0.1:${actual}`);
}
