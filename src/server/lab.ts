import type { Hono } from "hono";
import { problem } from "../adapters/fetch.js";
import { findAuthCookie } from "../cookies/parse.js";
import type { SessionManager } from "../index.js";
import type { Env } from "./http.js";
import { json } from "./http.js";
import { htmlPage, layout } from "./page.js";

/**
 * The storage lab: the same session token in an `HttpOnly` cookie, in `localStorage` and in
 * `sessionStorage`, and a simulated injected script that shows what it can read and do with
 * each. Copying the cookie's token out to the page defeats `HttpOnly` on purpose: that is what
 * the lab demonstrates, for the `id` strategy only, and only for the signed-in user.
 */
export function mountLab(app: Hono<Env>, manager: SessionManager) {
  app.get("/lab", async (c) => {
    const result = await manager.authenticate(c.req.raw);
    const signedIn = result.session !== null;
    const body = signedIn
      ? `<section aria-labelledby="lab"><h2 id="lab">Storage lab</h2>
<p>Your session token lives in an <code>HttpOnly</code> cookie. Put a copy in
<code>localStorage</code> and <code>sessionStorage</code>, then run a script as an attacker's
injected script (XSS) would, and see what it gets.</p>
<p><button type="button" id="lab-copy">Copy the token into localStorage and sessionStorage</button>
<button type="button" id="lab-run">Run the injected script</button>
<button type="button" id="lab-clear">Remove the copies</button></p>
<table><caption>Where the token is, as this tab sees it now</caption>
<thead><tr><th scope="col">Kept in</th><th scope="col">Present</th><th scope="col">Script can read it</th><th scope="col">Works from the attacker's machine</th><th scope="col">Survives closing the tab</th></tr></thead>
<tbody>
<tr><th scope="row">HttpOnly cookie</th><td id="present-cookie">yes</td><td id="read-cookie">?</td><td id="use-cookie">?</td><td>yes, until it expires or you sign out</td></tr>
<tr><th scope="row">localStorage</th><td id="present-local">?</td><td id="read-local">?</td><td id="use-local">?</td><td>yes, and across browser restarts</td></tr>
<tr><th scope="row">sessionStorage</th><td id="present-session">?</td><td id="read-session">?</td><td id="use-session">?</td><td>no: one tab only</td></tr>
</tbody></table>
<p id="lab-note">The script can still send requests that carry the cookie while the page is open
(it runs as the page); what <code>HttpOnly</code> prevents is taking the token away.</p></section>`
      : `<section><h2>Storage lab</h2><p>Sign in with the <code>id</code> strategy on <a href="/">the main page</a> first.</p></section>`;
    return htmlPage(layout({ title: "Storage lab", body, script: "/assets/lab.js" }));
  });

  // The cookie's own token, echoed to the page: the lab's deliberate mistake.
  app.post("/api/lab/copy", async (c) => {
    const result = await manager.authenticate(c.req.raw);
    if (result.session?.transport !== "cookie") {
      return problem(401, "unauthorized", "Sign in with the id strategy first");
    }
    const found = findAuthCookie(c.req.header("cookie"), manager.cookieNames.session);
    if (found.status !== "found") return problem(400, "no_cookie", "No session cookie");
    return json({ token: found.value });
  });
}

/** The lab page's script: the copy, and the "injected" script itself. */
export const LAB_SCRIPT = `
import { createSessionClient } from "/assets/client/index.js";
const client = createSessionClient();
const KEY = "sessionkit.lab.token";
const set = (id, text) => { const el = document.getElementById(id); if (el) el.textContent = text; };
const show = () => {
  set("present-local", localStorage.getItem(KEY) ? "yes" : "no");
  set("present-session", sessionStorage.getItem(KEY) ? "yes" : "no");
};
show();
document.getElementById("lab-copy")?.addEventListener("click", async () => {
  const r = await client.fetch("/api/lab/copy", { method: "POST" });
  const { token } = await r.json();
  localStorage.setItem(KEY, token);
  sessionStorage.setItem(KEY, token);
  show();
});
document.getElementById("lab-clear")?.addEventListener("click", () => {
  localStorage.removeItem(KEY);
  sessionStorage.removeItem(KEY);
  show();
});
// What an injected script does: read whatever it can, then try it without the victim's cookies,
// as it would from the attacker's own machine.
async function injected() {
  const stolen = {
    cookie: (document.cookie.match(/(?:^|; )__Host-sid=([^;]+)/) || [])[1] || null,
    local: localStorage.getItem(KEY),
    session: sessionStorage.getItem(KEY),
  };
  for (const [where, token] of Object.entries(stolen)) {
    set("read-" + where, token ? "yes: " + token.slice(0, 8) + "…" : "no");
    if (!token) { set("use-" + where, "nothing to use"); continue; }
    const r = await fetch("/api/id/me", { credentials: "omit", headers: { authorization: "Bearer " + token } });
    set("use-" + where, r.ok ? "yes (HTTP " + r.status + ")" : "no (HTTP " + r.status + ")");
  }
}
document.getElementById("lab-run")?.addEventListener("click", () => { injected(); });
`;
