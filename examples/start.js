// What every example's server.js shares: a manager on SQLite, the start-up line, and the
// one-line failure when it cannot listen.
// PORT (default 3001, beside the reference server's 3000), ORIGIN (the public origin, default
// http://localhost:PORT) and DATABASE (default data/example.db) come from the environment.
import { createSessionManager } from "sessionkit";
import { sqliteStore } from "sessionkit/stores/sqlite";

export const port = Number(process.env.PORT ?? 3001);

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

/**
 * A server that could not listen says so and exits 1: a taken port must not look like a
 * running app (the session store's timers would otherwise keep the process alive, silent).
 */
export function cannotListen(error) {
  const why =
    error?.code === "EADDRINUSE"
      ? "the port is in use (the reference server or another example?); set PORT to a free one"
      : (error?.message ?? String(error));
  console.error(`cannot listen on 127.0.0.1:${port}: ${why}`);
  process.exit(1);
}
