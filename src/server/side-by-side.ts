import type { Hono } from "hono";
import { html } from "hono/html";
import { problem } from "../adapters/fetch.js";
import { findAuthCookie } from "../cookies/parse.js";
import { createCookiePolicy } from "../cookies/policy.js";
import type { CookieAttributes } from "../cookies/serialize.js";
import type { SessionManager, StrategyName } from "../index.js";
import { readJsonObject } from "./body.js";
import { type Env, json } from "./http.js";
import { htmlPage, layout } from "./page.js";

const NO_STORE = new Headers({ "cache-control": "no-store" });

const STORED: Record<StrategyName, string> = {
  id: "A record per session: user, times, device, and the SHA-256 of the token's secret. Every request reads it (or the local cache).",
  jwt: "A record per session for listing and revocation; verifying a request reads nothing. A revocation goes to every instance's in-memory revocation set.",
  hybrid:
    "A record per session with the SHA-256 of the refresh token, read only at refresh (every access-token lifetime); access tokens verify like jwt.",
};

const flags = (a: CookieAttributes) =>
  [
    a.httpOnly ? "HttpOnly" : "readable by scripts",
    a.secure ? "Secure" : null,
    a.sameSite ? `SameSite=${a.sameSite[0]?.toUpperCase()}${a.sameSite.slice(1)}` : null,
    `Path=${a.path ?? "/"}`,
  ]
    .filter(Boolean)
    .join("; ");

/**
 * Strategies side by side: one person signed in with `id`, `jwt` and `hybrid` at once. For
 * each, the cookies the browser holds (name, size, flags), what the server stores, the time
 * the server spends verifying this very request, and what a revocation does to the next one.
 */
export function mountSideBySide(
  app: Hono<Env>,
  managers: Partial<Record<StrategyName, SessionManager>>,
) {
  const policy = createCookiePolicy(); // the reference server's cookies use the defaults
  // The strategy comes from the request body: a Map has no "__proto__" or "toString" entry.
  const byName = new Map<unknown, SessionManager>(Object.entries(managers));
  const cookiesOf: Record<StrategyName, Array<{ name: string; attributes: CookieAttributes }>> = {
    id: [{ name: policy.names.session, attributes: policy.auth }],
    jwt: [{ name: policy.names.jwt, attributes: policy.auth }],
    hybrid: [
      { name: policy.names.access, attributes: policy.auth },
      // The binding goes to every route with the access cookie; the refresh token only to
      // the refresh route.
      { name: policy.names.refreshBinding, attributes: policy.auth },
      { name: policy.names.refresh, attributes: policy.refresh },
    ],
  };

  const strategies = Object.keys(managers) as StrategyName[];
  const column = (
    s: StrategyName,
  ) => html`<section aria-labelledby="col-${s}" class="strategy" data-strategy="${s}">
<h3 id="col-${s}"><code>${s}</code></h3>
<p>Signed in: <strong id="${s}-state">…</strong></p>
<p>Cookies:</p><ul id="${s}-cookies"></ul>
<p>Stored by the server: <span id="${s}-stored"></span></p>
<p>Verifying this request took <strong id="${s}-micros">…</strong> µs on the server.</p>
<p><button type="button" data-revoke-strategy="${s}">Revoke this session</button>
<button type="button" data-check="${s}">Send a request</button> <span id="${s}-check" aria-live="polite"></span></p>
</section>`;
  app.get("/strategies", () => {
    const body = html`<section aria-labelledby="sbs"><h2 id="sbs">Strategies side by side</h2>
<form id="all-form">
  <label for="all-username">Username</label><input id="all-username" name="username" autocomplete="username" required>
  <label for="all-password">Password</label><input id="all-password" name="password" type="password" autocomplete="current-password" required>
  <button type="submit">Sign in with all three</button>
</form></section><div class="columns">${strategies.map(column)}</div>`;
    return htmlPage(
      layout({
        title: "Strategies side by side",
        body,
        script: "side-by-side",
        config: { strategies }, // read by src/server/assets/side-by-side.ts
      }),
    );
  });

  app.get("/api/strategies/state", async (c) => {
    const header = c.req.header("cookie");
    const out: Record<string, unknown> = {};
    for (const [strategy, manager] of Object.entries(managers) as Array<
      [StrategyName, SessionManager]
    >) {
      const start = performance.now();
      const result = await manager.authenticate(c.req.raw);
      const micros = Math.round((performance.now() - start) * 1000);
      out[strategy] = {
        signedIn: result.session !== null,
        deviceBound: result.session?.deviceBound === true,
        micros,
        stored: STORED[strategy],
        cookies: cookiesOf[strategy].map(({ name, attributes }) => {
          const found = findAuthCookie(header, name);
          return {
            name,
            flags: flags(attributes),
            // The refresh cookie never reaches this route: its Path is the refresh route.
            size: found.status === "found" ? name.length + 1 + found.value.length : null,
          };
        }),
      };
    }
    return json(out, 200, NO_STORE); // about this browser's sessions
  });

  // Revokes the session this request carries for one strategy, leaving its cookies in place,
  // so that the next request shows what the revocation does.
  app.post("/api/strategies/revoke", async (c) => {
    const body = await readJsonObject(c.req.raw);
    if (!body.ok) return body.response;
    const manager = byName.get(body.value.strategy);
    if (!manager) return problem(400, "invalid_strategy", "strategy is id, jwt or hybrid");
    const result = await manager.authenticate(c.req.raw);
    if (!result.session) return problem(401, "unauthorized", "Not signed in with that strategy");
    await manager.revoke(result.session.id);
    return json({ revoked: result.session.id }, 200, NO_STORE);
  });
}
