import { readFile } from "node:fs/promises";
import { problem } from "../adapters/fetch.js";
import type { SessionInfo } from "../index.js";

export interface PageOptions {
  user: { id: string; username: string } | null;
  sessions: SessionInfo[];
  strategies: string[];
  /** The strategy of the signed-in session shown, if any. */
  strategy: string | null;
  accessLifetimeMs?: number;
}

const escapeHtml = (value: string) => value.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

/** A short "Browser on OS" label; the raw user agent stays available as a tooltip. */
export function describeDevice(userAgent: string | null): string {
  if (!userAgent) return "Unknown device";
  const browser = /Edg\//.test(userAgent)
    ? "Edge"
    : /Firefox\//.test(userAgent)
      ? "Firefox"
      : /Chrome\/|Chromium\//.test(userAgent)
        ? "Chrome"
        : /Safari\//.test(userAgent)
          ? "Safari"
          : /^curl\//.test(userAgent)
            ? "curl"
            : (userAgent.split(/[ /]/)[0] ?? "Unknown");
  const os = /Android/.test(userAgent)
    ? "Android"
    : /iPhone|iPad/.test(userAgent)
      ? "iOS"
      : /Windows/.test(userAgent)
        ? "Windows"
        : /Mac OS X|Macintosh/.test(userAgent)
          ? "macOS"
          : /Linux/.test(userAgent)
            ? "Linux"
            : null;
  return os ? `${browser} on ${os}` : browser;
}

function sessionRow(s: SessionInfo): string {
  const device = escapeHtml(describeDevice(s.userAgent));
  return `<li class="session${s.current ? " current" : ""}">
  <div><strong title="${escapeHtml(s.userAgent ?? "")}">${device}</strong>${s.current ? ' <span class="badge">this device</span>' : ""}${s.deviceBound ? ' <span class="badge" title="Bound to a key this device holds: a copy of its token is worthless elsewhere">device-bound</span>' : ""}
  <div class="meta">Address ${escapeHtml(s.ip ?? "unknown")} · signed in <time>${s.createdAt.toISOString()}</time> · last active <time>${s.lastActiveAt.toISOString()}</time></div></div>
  <button type="button" data-revoke="${escapeHtml(s.id)}" aria-label="Revoke session on ${device}">${s.current ? "Sign out" : "Revoke"}</button>
</li>`;
}

export function renderPage(page: PageOptions): string {
  const body = page.user
    ? `<section aria-labelledby="me"><h2 id="me">Signed in as ${escapeHtml(page.user.username)}</h2>
  <p>Strategy: <strong>${escapeHtml(page.strategy ?? "")}</strong></p>
  <p><button type="button" id="logout">Sign out</button> <button type="button" id="revoke-others">Sign out all other devices</button></p></section>
<section aria-labelledby="devices"><h2 id="devices">My sessions</h2>
<ul class="sessions">${page.sessions.map(sessionRow).join("")}</ul></section>`
    : `<section aria-labelledby="signin"><h2 id="signin">Sign in</h2>
<form id="login-form">
  <label for="login-username">Username</label><input id="login-username" name="username" autocomplete="username" required>
  <label for="login-password">Password</label><input id="login-password" name="password" type="password" autocomplete="current-password" required>
  <label for="login-strategy">Strategy</label><select id="login-strategy" name="strategy">${page.strategies.map((s) => `<option>${escapeHtml(s)}</option>`).join("")}</select>
  <button type="submit">Sign in</button>
</form></section>
<section aria-labelledby="register"><h2 id="register">Create an account</h2>
<form id="register-form">
  <label for="register-username">Username</label><input id="register-username" name="username" autocomplete="username" required minlength="3" maxlength="64">
  <label for="register-password">Password (8 characters or more)</label><input id="register-password" name="password" type="password" autocomplete="new-password" required minlength="8">
  <button type="submit">Create account</button>
</form></section>`;
  return layout({
    title: "sessionkit demo",
    body,
    script: "/assets/app.js",
    data: {
      strategy: page.strategy ?? "",
      "signed-in": page.user ? "yes" : "no",
      "access-ms": String(page.accessLifetimeMs ?? 300000),
    },
  });
}

/** The demo's pages: one stylesheet, one module script each, a navigation between them. */
export function layout(page: {
  title: string;
  body: string;
  script: string;
  data?: Record<string, string>;
}): string {
  const data = Object.entries(page.data ?? {})
    .map(([key, value]) => ` data-${key}="${escapeHtml(value)}"`)
    .join("");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(page.title)}</title><link rel="stylesheet" href="/assets/app.css"><script type="module" src="${page.script}"></script></head>
<body${data}><header><h1>sessionkit</h1><p>Session IDs, JWTs and the hybrid of the two, in cookies this page cannot read.</p>
<nav aria-label="Pages"><a href="/">Sign in and devices</a> · <a href="/strategies">Strategies side by side</a> · <a href="/lab">Storage lab</a> · <a href="/inspect">Token inspector</a></nav></header>
<main><p id="status" role="status" aria-live="polite"></p>${page.body}</main></body></html>`;
}

const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/** An HTML page response: never cached, under the demo's content security policy. */
export function htmlPage(html: string, headers?: Headers): Response {
  const out = new Headers(headers);
  out.set("content-type", "text/html; charset=utf-8");
  out.set("cache-control", "no-store");
  out.set("content-security-policy", CSP);
  return new Response(html, { headers: out });
}

const SCRIPT = `
import { createSessionClient } from "/assets/client/index.js";
const status = document.getElementById("status");
const say = (text) => { status.textContent = text; };
const strategy = document.body.dataset.strategy || "id";
// The page's requests go through sessionkit/client: CSRF header, and for hybrid one refresh
// across all tabs, before the access token ends and on 401 session_expired.
const client = createSessionClient({ strategy, accessLifetimeMs: Number(document.body.dataset.accessMs) });
window.sessionkit = client;
client.onSignOut(() => location.reload());
async function call(method, path, body) {
  const headers = body === undefined ? {} : { "content-type": "application/json" };
  const r = await client.fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (!r.ok) {
    const problem = await r.json().catch(() => ({}));
    throw new Error(problem.title || ("HTTP " + r.status));
  }
  return r.status === 204 ? null : r.json();
}
const form = (id, handler) => {
  const el = document.getElementById(id);
  if (!el) return;
  el.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = Object.fromEntries(new FormData(el));
    try { await handler(data); } catch (error) { say(error.message); }
  });
};
form("login-form", async (d) => {
  await call("POST", "/api/" + (d.strategy || "id") + "/login", { username: d.username, password: d.password });
  client.signedIn();
  location.reload();
});
form("register-form", async (d) => {
  await call("POST", "/api/users", { username: d.username, password: d.password });
  await call("POST", "/api/id/login", { username: d.username, password: d.password });
  location.reload();
});
const click = (selector, handler) => document.querySelectorAll(selector).forEach((el) =>
  el.addEventListener("click", async () => { try { await handler(el); } catch (error) { say(error.message); } }));
click("#logout", async () => { await client.signOut("/api/" + strategy + "/logout"); });
click("#revoke-others", async () => {
  const r = await call("POST", "/api/" + strategy + "/sessions/revoke-all", { exceptCurrent: true });
  say("Signed out " + r.revoked + " other session(s)."); setTimeout(() => location.reload(), 600);
});
click("[data-revoke]", async (el) => { await call("DELETE", "/api/" + strategy + "/sessions/" + encodeURIComponent(el.dataset.revoke)); location.reload(); });
// hybrid: the access cookie may have lapsed while the refresh cookie (sent only to the refresh
// route) is still good; one attempt per page load, and a reload only if it worked.
if (document.body.dataset.signedIn === "no") {
  createSessionClient({ strategy: "hybrid" }).refresh().then((ok) => { if (ok) location.reload(); }, () => {});
} else if (strategy === "hybrid") {
  client.signedIn(); // the page was just served with a fresh access token: schedule the next
}
document.querySelectorAll("time").forEach((t) => { t.textContent = new Date(t.textContent).toLocaleString(); });
`;

const STYLE = `
:root { font-family: system-ui, sans-serif; color: #1a1a1a; background: #fafafa; }
body { max-width: 46rem; margin: 0 auto; padding: 1rem; line-height: 1.5; }
h1 { margin-bottom: 0; } header p { margin-top: 0; color: #444; }
section { background: #fff; border: 1px solid #ccc; border-radius: 8px; padding: 1rem; margin: 1rem 0; }
form { display: grid; gap: .4rem; max-width: 24rem; }
textarea { font: .85rem ui-monospace, monospace; width: 100%; box-sizing: border-box; }
pre { background: #f3f3f3; padding: .5rem; overflow-x: auto; font-size: .85rem; }
input, select, button { font: inherit; padding: .45rem .6rem; border-radius: 6px; border: 1px solid #767676; }
button { background: #0b57d0; color: #fff; border-color: #0b57d0; cursor: pointer; }
button:focus-visible, input:focus-visible, select:focus-visible { outline: 3px solid #f9a825; outline-offset: 2px; }
.sessions { list-style: none; padding: 0; }
.session { display: flex; justify-content: space-between; gap: 1rem; align-items: center; padding: .6rem 0; border-top: 1px solid #ddd; flex-wrap: wrap; }
.session.current strong { color: #0b57d0; }
.badge { font-size: .8rem; background: #e8f0fe; color: #0b3d91; padding: .1rem .4rem; border-radius: 4px; }
.meta { color: #444; font-size: .9rem; }
table { border-collapse: collapse; width: 100%; font-size: .9rem; } caption { text-align: left; font-weight: 600; }
th, td { border-top: 1px solid #ddd; padding: .4rem; text-align: left; vertical-align: top; }
nav a { color: #0b3d91; }
.columns { display: grid; grid-template-columns: repeat(auto-fit, minmax(14rem, 1fr)); gap: .8rem; }
.strategy { margin: 0; font-size: .92rem; overflow-wrap: anywhere; } code { background: #eef; padding: 0 .2rem; border-radius: 3px; }
#status:empty { display: none; } #status { background: #fff4e5; border: 1px solid #b26a00; padding: .5rem; border-radius: 6px; }
`;

// A module of the built browser client: a plain name (no path, no dots but the extension),
// so that nothing outside dist/client can be named; what is not there is a 404.
const CLIENT_FILE = /^[a-z][a-z-]*\.js$/;

/** A file of the built browser client (dist/client), or 404. */
export async function clientAsset(file: string): Promise<Response> {
  if (!CLIENT_FILE.test(file)) return problem(404, "not_found", "Not found");
  try {
    const text = await readFile(new URL(`../client/${file}`, import.meta.url), "utf8");
    return new Response(text.replace(/\n\/\/# sourceMappingURL=.*\n?$/, "\n"), {
      headers: {
        "content-type": "text/javascript; charset=utf-8",
        "cache-control": "public, max-age=300",
      },
    });
  } catch {
    return problem(404, "not_found", "Not found");
  }
}

/** A script of the demo, as a cacheable module. */
export function script(text: string): Response {
  return new Response(text, {
    headers: {
      "content-type": "text/javascript; charset=utf-8",
      "cache-control": "public, max-age=300",
    },
  });
}

export function renderApp(kind: "js" | "css"): Response {
  return new Response(kind === "js" ? SCRIPT : STYLE, {
    headers: {
      "content-type": kind === "js" ? "text/javascript; charset=utf-8" : "text/css; charset=utf-8",
      "cache-control": "public, max-age=300",
    },
  });
}
