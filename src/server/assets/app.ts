/** The main page: sign in, create an account, see and revoke this user's sessions. */
import { type ClientOptions, createSessionClient, type SessionClient } from "./client/index.js";
import { jsonRequest, onClick, onSubmit, pageConfig, say } from "./shared.js";

type Strategy = NonNullable<ClientOptions["strategy"]>;

declare global {
  interface Window {
    /** The page's session client, for whoever explores the demo from the console. */
    sessionkit: SessionClient;
  }
}

/** Rendered by `renderPage` (src/server/page.ts). */
interface Config {
  /** The strategy of the session shown; `null` when signed out. */
  strategy: Strategy | null;
  /** The strategies the server serves, the one to sign in with after sign-up first. */
  strategies: Strategy[];
  /** The lifetime of hybrid access tokens, to refresh before it ends. */
  accessLifetimeMs: number;
  /**
   * Signed out, but the request carried the binding of a live hybrid refresh cookie: a refresh
   * can sign this browser back in. Only then is one tried, so a signed-out visit sends nothing
   * bound to be refused.
   */
  tryRefresh: boolean;
}

const config = pageConfig<Config>();
const strategy = config.strategy;
// The page's requests go through sessionkit/client: CSRF header, and for hybrid one refresh
// across all tabs, before the access token ends and on 401 session_expired.
const client = createSessionClient({
  ...(strategy ? { strategy } : {}),
  accessLifetimeMs: config.accessLifetimeMs,
});
// Within reach of the console (and of the browser test that calls it as a page script would).
window.sessionkit = client;
client.onSignOut(() => location.reload());

async function call(method: string, path: string, body?: unknown): Promise<unknown> {
  const r = await client.fetch(path, body === undefined ? { method } : jsonRequest(method, body));
  if (!r.ok) {
    const problem = (await r.json().catch(() => ({}))) as { title?: string };
    throw new Error(problem.title || `HTTP ${r.status}`);
  }
  return r.status === 204 ? null : r.json();
}

onSubmit("login-form", async (d) => {
  await call("POST", `/api/${d.strategy || config.strategies[0]}/login`, {
    username: d.username,
    password: d.password,
  });
  client.signedIn();
  location.reload();
});
onSubmit("register-form", async (d) => {
  const credentials = { username: d.username, password: d.password };
  await call("POST", "/api/users", credentials);
  await call("POST", `/api/${config.strategies[0]}/login`, credentials);
  location.reload();
});

if (strategy) {
  const api = `/api/${strategy}`;
  onClick("#logout", () => client.signOut(`${api}/logout`));
  onClick("#revoke-others", async () => {
    const r = await call("POST", `${api}/sessions/revoke-all`, { exceptCurrent: true });
    say(`Signed out ${(r as { revoked: number }).revoked} other session(s).`);
    setTimeout(() => location.reload(), 600);
  });
  onClick("[data-revoke]", async (el) => {
    await call("DELETE", `${api}/sessions/${encodeURIComponent(el.dataset.revoke ?? "")}`);
    location.reload();
  });
  // The page was just served with a fresh access token: schedule the next refresh.
  if (strategy === "hybrid") client.signedIn();
} else if (config.tryRefresh) {
  // The access cookie lapsed while the refresh cookie (sent only to the refresh route) is
  // still good: one attempt per page load, and a reload only if it worked.
  createSessionClient({ strategy: "hybrid" })
    .refresh()
    .then(
      (ok) => {
        if (ok) location.reload();
      },
      () => {},
    );
}

for (const time of document.querySelectorAll("time")) {
  time.textContent = new Date(time.dateTime).toLocaleString();
}
