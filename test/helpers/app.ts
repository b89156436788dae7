import { afterAll } from "vitest";
import { generateKeySet } from "../../src/index.js";
import { type AppOptions, createApp } from "../../src/server/app.js";
import { type CommonOptions, referenceManagers } from "../../src/server/managers.js";
import { sqliteUsers } from "../../src/server/users-sqlite.js";
import { memoryStore } from "../../src/stores/memory/index.js";

export const APP_ORIGIN = "http://app.test";
export const APP_PASSWORD = "correct horse battery";

/**
 * The reference server's app in this process, with all three strategies on a memory store
 * and every line it logs kept, so that a test can say that nothing was logged as an error.
 */
export function referenceApp(
  options: Partial<AppOptions> = {},
  managerOptions: Partial<CommonOptions> = {},
) {
  const store = memoryStore();
  const keys = generateKeySet();
  const users = sqliteUsers(":memory:");
  const common = {
    store,
    keys,
    cleanup: false as const,
    csrf: { origins: [APP_ORIGIN] },
    issuer: APP_ORIGIN,
    ...managerOptions,
  };
  const managers = referenceManagers(common);
  const logged: string[] = [];
  const app = createApp({
    managers,
    store,
    users,
    keys,
    scryptLog2N: 10,
    inspect: {
      issuer: APP_ORIGIN,
      audiences: [`${APP_ORIGIN}/api/jwt`, `${APP_ORIGIN}/api/hybrid`],
    },
    log: (line) => logged.push(line),
    ...options,
  });
  afterAll(() => {
    for (const manager of Object.values(managers)) manager.close();
    users.close();
  });
  return { app, managers, store, keys, logged };
}

type App = ReturnType<typeof referenceApp>["app"];

/** One browser-like user of an in-process app: keeps cookies, sends the app's Origin. */
export function appClient(app: App) {
  const jar = new Map<string, string>();
  const request = async (
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ) => {
    const h = new Headers(headers);
    if (!h.has("origin")) h.set("origin", APP_ORIGIN);
    if (jar.size > 0 && !h.has("cookie")) {
      h.set("cookie", [...jar].map(([k, v]) => `${k}=${v}`).join("; "));
    }
    if (body !== undefined && !h.has("content-type")) h.set("content-type", "application/json");
    const response = await app.request(`${APP_ORIGIN}${path}`, {
      method,
      headers: h,
      body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    });
    for (const line of response.headers.getSetCookie()) {
      const pair = line.split(";")[0] ?? "";
      const eq = pair.indexOf("=");
      if (pair.slice(eq + 1) === "" || /Max-Age=0/i.test(line)) jar.delete(pair.slice(0, eq));
      else jar.set(pair.slice(0, eq), pair.slice(eq + 1));
    }
    return response;
  };
  return { jar, request };
}

let users = 0;

/** Registers a fresh user and signs them in with `strategy` (cookie transport). */
export async function signedInClient(app: App, strategy: "id" | "jwt" | "hybrid" = "id") {
  const c = appClient(app);
  const username = `user${++users}x${Date.now() % 100000}`;
  const created = await c.request("POST", "/api/users", { username, password: APP_PASSWORD });
  if (created.status !== 201) throw new Error(`registration answered ${created.status}`);
  const login = await c.request("POST", `/api/${strategy}/login`, {
    username,
    password: APP_PASSWORD,
  });
  if (login.status !== 200) throw new Error(`sign-in answered ${login.status}`);
  return { ...c, username };
}
