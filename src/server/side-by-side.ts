import type { Hono } from "hono";
import { html } from "hono/html";
import { findAuthCookie } from "../cookies/parse.js";
import { createCookiePolicy } from "../cookies/policy.js";
import type { CookieAttributes } from "../cookies/serialize.js";
import type { SessionManager, StrategyName } from "../index.js";
import { type Env, json } from "./http.js";
import { htmlPage, layout } from "./page.js";
import {
  mountSideBySideApi,
  type SideBySideOptions,
  WARM_RUNS,
  warmMedian,
} from "./side-by-side-api.js";

const NO_STORE = new Headers({ "cache-control": "no-store" });

/** How long one strategy's warm median stands for every page that asks. */
const MEDIAN_REUSE_MS = 1000;

const STORED: Record<StrategyName, string> = {
  id: "A record per session: user, times, device, and the SHA-256 of the token's secret. Every request reads it (or the local cache).",
  jwt: "A record per session for listing and revocation; verifying a request reads nothing. A revocation goes to every instance's in-memory revocation set.",
  hybrid:
    "A record per session with the SHA-256 of the refresh token, read only at refresh (every access-token lifetime); access tokens verify like jwt.",
};

/** How each strategy refuses a revoked session's next request. */
const HOW: Record<StrategyName, string> = {
  id: "the record is deleted; the next request's store lookup finds nothing.",
  jwt: "the store's change feed tells every instance, which adds the id to its in-memory revocation set; until then the token verifies.",
  hybrid:
    "the access token is refused like a jwt (revocation set, via the feed); the refresh family is deleted, so no refresh mints a new one. What hybrid adds: each refresh reads the store, so even with the feed down a revocation holds within one access-token lifetime, and a stolen access token is worth minutes, not the session.",
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
 * the server spends verifying a request (warm median), and what a revocation does to the
 * next one, and how each strategy refuses it. With `--lab`, the change feed of the `jwt`
 * manager can be held back, to watch a revoked token work until `maxLag` fails it closed.
 */
export function mountSideBySide(
  app: Hono<Env>,
  managers: Partial<Record<StrategyName, SessionManager>>,
  options: SideBySideOptions,
) {
  const policy = createCookiePolicy(); // the reference server's cookies use the defaults
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
  const seconds = (ms: number) => `${ms / 1000} s`;
  const column = (
    s: StrategyName,
  ) => html`<section aria-labelledby="col-${s}" class="strategy" data-strategy="${s}">
<h3 id="col-${s}"><code>${s}</code></h3>
<p>Signed in: <strong id="${s}-state">…</strong></p>
<p>Cookies:</p><ul id="${s}-cookies"></ul>
<p>Stored by the server: <span id="${s}-stored"></span></p>
<p>Verifying a request on the server: <strong id="${s}-median">…</strong> µs, <span class="meta">median of ${WARM_RUNS} warm runs (the page's first request: <span id="${s}-first">…</span> µs)</span></p>
<p>On revocation: ${HOW[s]}</p>
<p><button type="button" data-revoke-strategy="${s}">Revoke this session</button>
<button type="button" data-check="${s}">Send a request</button></p>
<p id="${s}-check" class="verdict" aria-live="polite"></p>
</section>`;
  const pause = options.lab
    ? html`<p><button type="button" id="feed-pause">Pause the change feed (jwt)</button>
<button type="button" id="feed-resume">Resume it</button></p>
<p id="feed-state" aria-live="polite"></p>`
    : html`<p id="feed-off">The pause switch is off on this server: holding revocations back is
for a demo, never for a server others rely on. Start it with <code>--lab</code> (or
<code>SESSIONKIT_LAB=1</code>), e.g. <code>npm start -- --lab --max-lag 5s</code>, to try it.</p>`;
  app.get("/strategies", () => {
    const body = html`<section aria-labelledby="sbs"><h2 id="sbs">Strategies side by side</h2>
<form id="all-form">
  <label for="all-username">Username</label><input id="all-username" name="username" autocomplete="username" required>
  <label for="all-password">Password</label><input id="all-password" name="password" type="password" autocomplete="current-password" required>
  <button type="submit">Sign in with all three</button>
</form><p id="all-error" class="error" role="alert"></p></section><div class="columns">${strategies.map(column)}</div>
<section aria-labelledby="experiment"><h2 id="experiment">Revoke while the change feed is paused</h2>
<p>A <code>jwt</code> is checked with no I/O: the only way an instance learns of a revocation is
the store's change feed. Pause the feed, revoke the <code>jwt</code> session, and send requests:
the token still works. The verifier knows how long the feed has been silent, though: past
<code>maxLag</code> (${seconds(options.maxLag)} on this server) it fails closed and refuses
every token (503) until the feed catches up. Resume, and the revocation arrives.</p>
${pause}</section>`;
    return htmlPage(
      layout({
        title: "Strategies side by side",
        body,
        script: "side-by-side",
        // read by src/server/assets/side-by-side.ts
        config: { strategies, lab: options.lab, maxLagMs: options.maxLag },
      }),
    );
  });

  // A warm median costs 2 x WARM_RUNS verifications: measured at most once a second per
  // strategy for the whole server (concurrent requests share it), or any signed-in client
  // could multiply the cost of its requests by a hundred.
  const medians = new Map<StrategyName, { at: number; micros: Promise<number> }>();
  const medianOf = (strategy: StrategyName, manager: SessionManager, request: Request) => {
    const now = performance.now();
    const last = medians.get(strategy);
    if (last && now - last.at < MEDIAN_REUSE_MS) return last.micros;
    const micros = warmMedian(manager, request);
    medians.set(strategy, { at: now, micros });
    micros.catch(() => medians.delete(strategy));
    return micros;
  };

  app.get("/api/strategies/state", async (c) => {
    const header = c.req.header("cookie");
    const out: Record<string, unknown> = {};
    for (const [strategy, manager] of Object.entries(managers) as Array<
      [StrategyName, SessionManager]
    >) {
      const start = performance.now();
      const result = await manager.authenticate(c.req.raw, { readOnly: true });
      const firstMicros = Math.round((performance.now() - start) * 1000);
      const signedIn = result.session !== null;
      out[strategy] = {
        signedIn,
        deviceBound: result.session?.deviceBound === true,
        firstMicros,
        medianMicros: signedIn ? await medianOf(strategy, manager, c.req.raw) : null,
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

  mountSideBySideApi(app, managers, options);
}
