import { readFile } from "node:fs/promises";
import { html } from "hono/html";
import { problem } from "../adapters/fetch.js";
import type { SessionInfo } from "../index.js";

/** A piece of HTML: what hono's `html` template gives, its values escaped. */
export type Html = ReturnType<typeof html>;

export interface PageOptions {
  user: { id: string; username: string } | null;
  sessions: SessionInfo[];
  strategies: string[];
  /** The strategy of the signed-in session shown, if any. */
  strategy: string | null;
  accessLifetimeMs?: number;
  /** Signed out, but a `hybrid` refresh can sign this browser back in: the script tries it. */
  tryRefresh?: boolean;
  /** Why this browser, signed in before, no longer is (a refused cookie said so). */
  signedOut?: SignedOutReason | null;
}

export type SignedOutReason = "revoked" | "expired";

const SIGNED_OUT: Record<SignedOutReason, string> = {
  revoked: "This device was signed out from another device. Sign in again to continue.",
  expired: "Your session on this device expired. Sign in again to continue.",
};

/** What each strategy means, in one line: shown beside the choice and on the signed-in page. */
const STRATEGY_LINES: Record<string, string> = {
  id: "an opaque token; the server looks the session up on every request, so a sign-out from another device takes effect at once.",
  jwt: "a signed token checked without a lookup; a sign-out from another device reaches every server through the change feed, within seconds.",
  hybrid:
    "a short-lived JWT for requests and a refresh token the server checks (and rotates) every few minutes: a stolen access token is worth minutes.",
};

// The first pattern that matches names the browser: Edge's user agent says Chrome and Safari
// too, Chrome's says Safari.
const BROWSERS: ReadonlyArray<readonly [RegExp, string]> = [
  [/Edg\//, "Edge"],
  [/Firefox\//, "Firefox"],
  [/Chrome\/|Chromium\//, "Chrome"],
  [/Safari\//, "Safari"],
  [/^curl\//, "curl"],
];
// Android's says Linux, the iPhone's says Mac OS X.
const SYSTEMS: ReadonlyArray<readonly [RegExp, string]> = [
  [/Android/, "Android"],
  [/iPhone|iPad/, "iOS"],
  [/Windows/, "Windows"],
  [/Mac OS X|Macintosh/, "macOS"],
  [/Linux/, "Linux"],
];
const firstMatch = (table: typeof BROWSERS, text: string) =>
  table.find(([pattern]) => pattern.test(text))?.[1] ?? null;

/** A short "Browser on OS" label; the raw user agent stays available as a tooltip. */
export function describeDevice(userAgent: string | null): string {
  if (!userAgent) return "Unknown device";
  const browser = firstMatch(BROWSERS, userAgent) ?? userAgent.split(/[ /]/)[0] ?? "Unknown";
  const os = firstMatch(SYSTEMS, userAgent);
  return os ? `${browser} on ${os}` : browser;
}

function sessionRow(s: SessionInfo): Html {
  const device = describeDevice(s.userAgent);
  const time = (at: Date) => html`<time datetime="${at.toISOString()}">${at.toISOString()}</time>`;
  return html`<li class="${s.current ? "session current" : "session"}">
  <div><strong title="${s.userAgent ?? ""}">${device}</strong>${s.current ? html` <span class="badge">this device</span>` : ""}${s.deviceBound ? html` <span class="badge" title="Bound to a key this device holds: a copy of its token is worthless elsewhere">device-bound</span>` : ""}
  <div class="meta">Address ${s.ip ?? "unknown"} · signed in ${time(s.createdAt)} · last active ${time(s.lastActiveAt)}</div></div>
  <button type="button" data-revoke="${s.id}" aria-label="Revoke session on ${device}">${s.current ? "Sign out" : "Revoke"}</button>
</li>`;
}

export function renderPage(page: PageOptions): Html {
  const body = page.user
    ? html`<section aria-labelledby="me"><h2 id="me">Signed in as ${page.user.username}</h2>
  <p>Strategy: <strong>${page.strategy ?? ""}</strong></p>
  <p class="meta" id="strategy-line">${page.strategy ? STRATEGY_LINES[page.strategy] : ""}</p>
  <p><button type="button" id="logout">Sign out</button> <button type="button" id="revoke-others">Sign out all other devices</button></p></section>
<section aria-labelledby="devices"><h2 id="devices">My sessions</h2>
<ul class="sessions">${page.sessions.map(sessionRow)}</ul></section>`
    : html`${page.signedOut ? html`<p class="notice" id="signed-out" role="alert">${SIGNED_OUT[page.signedOut]}</p>` : ""}<section aria-labelledby="signin"><h2 id="signin">Sign in</h2>
<form id="login-form">
  <label for="login-username">Username</label><input id="login-username" name="username" autocomplete="username" required>
  <label for="login-password">Password</label><input id="login-password" name="password" type="password" autocomplete="current-password" required>
  <label for="login-strategy">Strategy</label><select id="login-strategy" name="strategy" aria-describedby="strategy-lines">${page.strategies.map((s) => html`<option>${s}</option>`)}</select>
  <ul id="strategy-lines" class="strategy-lines">${page.strategies.map((s) => html`<li><code>${s}</code>: ${STRATEGY_LINES[s] ?? ""}</li>`)}</ul>
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
    script: "app",
    // Read by src/server/assets/app.ts.
    config: {
      strategy: page.user ? page.strategy : null,
      strategies: page.strategies,
      accessLifetimeMs: page.accessLifetimeMs ?? 5 * 60_000,
      tryRefresh: page.tryRefresh === true,
    },
  });
}

/** The demo pages' own files (src/server/assets, built to dist/server/assets): these only. */
const PAGE_ASSETS = {
  "app.js": "text/javascript",
  "side-by-side.js": "text/javascript",
  "lab.js": "text/javascript",
  "inspect.js": "text/javascript",
  "shared.js": "text/javascript",
  "app.css": "text/css",
} as const;
export const PAGE_ASSET_FILES = Object.keys(PAGE_ASSETS) as Array<keyof typeof PAGE_ASSETS>;

/** A page's module script, by its name in src/server/assets. */
type PageScript = "app" | "side-by-side" | "lab" | "inspect";

/**
 * The demo's pages: one stylesheet, one module script each, a navigation between them. What
 * the script needs from the server comes as `config`, JSON in `<body data-config>`.
 */
export function layout(page: {
  title: string;
  body: Html;
  script: PageScript;
  config?: object;
}): Html {
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${page.title}</title><link rel="stylesheet" href="/assets/app.css"><script type="module" src="/assets/${page.script}.js"></script></head>
<body data-config="${JSON.stringify(page.config ?? {})}"><header><h1>sessionkit</h1><p>Session IDs, JWTs and the hybrid of the two, in cookies this page cannot read.</p>
<nav aria-label="Pages"><a href="/">Sign in and devices</a> · <a href="/strategies">Strategies side by side</a> · <a href="/lab">Storage lab</a> · <a href="/inspect">Token inspector</a></nav></header>
<main><p id="status" role="status" aria-live="polite"></p>${page.body}</main></body></html>`;
}

const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/** An HTML page response: never cached, under the demo's content security policy. */
export async function htmlPage(page: Html, headers?: Headers): Promise<Response> {
  const out = new Headers(headers);
  out.set("content-type", "text/html; charset=utf-8");
  out.set("cache-control", "no-store");
  out.set("content-security-policy", CSP);
  return new Response(String(await page), { headers: out });
}

/** A built file as a cacheable asset, without its source map comment (maps are not served). */
async function asset(url: URL, type: string): Promise<Response> {
  try {
    const text = await readFile(url, "utf8");
    return new Response(text.replace(/\n\/\/# sourceMappingURL=.*\n?$/, "\n"), {
      headers: {
        "content-type": `${type}; charset=utf-8`,
        "cache-control": "public, max-age=300",
      },
    });
  } catch {
    return problem(404, "not_found", "Not found");
  }
}

// A module of the built browser client: a plain name (no path, no dots but the extension),
// so that nothing outside dist/client can be named; what is not there is a 404.
const CLIENT_FILE = /^[a-z][a-z-]*\.js$/;

/** A file of the built browser client (dist/client), or 404. */
export function clientAsset(file: string): Promise<Response> {
  if (!CLIENT_FILE.test(file)) return Promise.resolve(problem(404, "not_found", "Not found"));
  return asset(new URL(`../client/${file}`, import.meta.url), "text/javascript");
}

/** One of the demo pages' own files (`PAGE_ASSET_FILES`). */
export function pageAsset(file: keyof typeof PAGE_ASSETS): Promise<Response> {
  return asset(new URL(`./assets/${file}`, import.meta.url), PAGE_ASSETS[file]);
}
