import type { Hono } from "hono";
import { html } from "hono/html";
import { problem } from "../adapters/fetch.js";
import { findAuthCookie } from "../cookies/parse.js";
import type { SessionManager, SessionStore, StrategyName } from "../index.js";
import {
  createJwtVerifier,
  decodeJwtUnverified,
  type JwkSet,
  publicKeySet,
} from "../tokens/index.js";
import { type Env, json, readTokenBody, tokenCookie } from "./http.js";
import { htmlPage, layout } from "./page.js";

const NO_STORE = new Headers({ "cache-control": "no-store" });

/** Refusals that no key could change: the token is not a well-formed JWS. */
const STRUCTURAL = new Set<string>([
  "too_large",
  "jwe",
  "malformed",
  "bad_header",
  "forbidden_header",
  "alg_none",
  "bad_payload",
]);

/** The `sid` claim of decoded claims, which may be any JSON at all. */
export const sidIn = (claims: unknown): unknown =>
  typeof claims === "object" && claims !== null
    ? (claims as Record<string, unknown>).sid
    : undefined;

export interface InspectOptions {
  keys: JwkSet;
  issuer: string;
  /** The audiences of this server's token strategies. */
  audiences: string[];
  /** Where the live check looks the session of a token up. */
  store?: SessionStore;
  /** The token strategies whose cookie "use my current token" reads. */
  managers?: Partial<Record<StrategyName, SessionManager>>;
  /**
   * Whether "use my current token" is offered (the storage lab's `--lab`). Off by default: it
   * hands an HttpOnly cookie's token to page scripts, which is what HttpOnly exists to prevent,
   * so only a server started to demonstrate such things does it.
   */
  echoOwnToken?: boolean;
}

/**
 * The token inspector: paste a JWT (or take this browser's own), see its header, claims and
 * times, and have it verified twice: with the public keys of `/.well-known/jwks.json` (what
 * another service can check) and with the server's own key set (which also holds secret HMAC
 * keys). Each answer gives its reason. For a token this server signed, it also says whether
 * its session is still live in the store: a valid signature is not a live session. That tells
 * the holder nothing more than sending the token would.
 */
export function mountInspector(app: Hono<Env>, options: InspectOptions) {
  const claimsOf = { issuer: options.issuer, audience: options.audiences, type: null };
  const publicKeys = publicKeySet(options.keys);
  const byJwks = publicKeys.keys.length > 0 ? createJwtVerifier(publicKeys, claimsOf) : null;
  const byServer = createJwtVerifier(options.keys, claimsOf);
  const algs = [...new Set(options.keys.keys.map((k) => k.alg ?? k.kty))].join(", ");
  const echo = options.echoOwnToken === true;
  const tokenManagers = (["jwt", "hybrid"] as const).flatMap((s) => {
    const manager = options.managers?.[s];
    return manager ? [[s, manager] as const] : [];
  });

  app.get("/inspect", (c) => {
    const origin = new URL(c.req.url).origin;
    const curl = `curl -s ${origin}/api/inspect -H 'content-type: application/json' -d '{"token":"PASTE.THE.TOKEN"}'`;
    const body = html`<section aria-labelledby="inspect"><h2 id="inspect">Token inspector</h2>
<form id="inspect-form">
  <label for="token">JWT</label>
  <textarea id="token" name="token" rows="5" spellcheck="false" autocomplete="off" required></textarea>
  <p><button type="submit">Decode and verify</button>
  ${echo ? html`<button type="button" id="use-mine">Use my current token</button>` : ""}</p>
</form>
${
  echo
    ? html`<p class="meta">"Use my current token" asks the server for the <code>jwt</code> or
<code>hybrid</code> access token of this browser's cookie: the cookie is <code>HttpOnly</code>,
so this page's scripts cannot read it, and only this demo, started with <code>--lab</code>,
hands it back (to this origin's pages only). Or verify from a terminal:</p>`
    : html`<p class="meta">Your own <code>jwt</code> or <code>hybrid</code> access token is in an
<code>HttpOnly</code> cookie, which this page's scripts cannot read: copy it from the browser's
developer tools (Application, Cookies), or start the server with <code>--lab</code> for a
"Use my current token" button. Or verify from a terminal:</p>`
}
<pre class="copy"><code id="curl">${curl}</code></pre>
<h3>Header</h3><pre id="header" aria-live="polite"></pre>
<h3>Claims</h3><pre id="claims" aria-live="polite"></pre>
<h3>Times</h3><dl id="dates" class="dates"></dl>
<h3>Verification</h3><ul><li>With the JWKS: <strong id="verdict-jwks">—</strong></li>
<li>With the server's key set: <strong id="verdict-server">—</strong></li>
<li>Session in the store: <strong id="verdict-live">—</strong></li></ul>
<p><strong>A valid signature is not a live session.</strong> The signature proves this server
issued the token and nobody changed it; it stays valid until <code>exp</code> even after a
sign-out. Whether the session still stands is a lookup: the store (as here), or the revocation
set that the change feed fills on each instance.</p>
<p>Decoding happens in this page and proves nothing; only a verification does.</p>
<h3>Making the JWKS check succeed</h3>
${
  publicKeys.keys.length > 0
    ? html`<p>This server signs with ${algs}: the public half of its key is in
<code>/.well-known/jwks.json</code>, so another service can verify its tokens, and the JWKS
check says <em>valid</em> for them.</p></section>`
    : html`<p>This server signs with ${algs}. An HMAC key (HS256, the default) is a shared secret: it
is never published, so <code>/.well-known/jwks.json</code> is empty and another service cannot
verify these tokens. With an asymmetric key the JWKS holds its public half:</p>
<pre class="copy"><code>(umask 077; npx sessionkit keys generate --alg ES256 &gt; data/keys-es256.json)
npm start -- --keys data/keys-es256.json</code></pre>
<p>(<code>umask 077</code> keeps the private key readable by you only; add the flags you started
with, such as <code>--lab</code> or <code>--port</code>.) Then sign in again (tokens signed with
the old key no longer verify) and inspect the new token: both checks say <em>valid</em>.</p></section>`
}`;
    return htmlPage(layout({ title: "Token inspector", body, script: "inspect" }));
  });

  app.post("/api/inspect", async (c) => {
    const body = await readTokenBody(c.req.raw, 8192, {
      code: "invalid_token_format",
      title: "token is a string of at most 8 KiB",
    });
    if (!body.ok) return body.response;
    const token = body.token.trim();
    const decoded = decodeJwtUnverified(token);
    const verdict = (result: { ok: true } | { ok: false; reason: string }) =>
      result.ok ? { ok: true } : { ok: false, reason: result.reason };
    const server = byServer.verify(token);
    // What is not a well-formed JWT is refused as such by every key set, published or not.
    const structural = !server.ok && STRUCTURAL.has(server.reason) ? server.reason : null;
    const jwks =
      structural !== null || decoded === null
        ? { ok: false, reason: structural ?? "malformed" }
        : byJwks
          ? verdict(byJwks.verify(token))
          : { ok: false, reason: "no_public_keys: HMAC keys are secret and never in the JWKS" };
    // Only for a token this server signed (a lapsed one too): its session id is its own.
    const signed = server.ok || server.reason === "expired";
    const sid = sidIn(decoded?.claims);
    let live: boolean | null = null;
    if (signed && typeof sid === "string" && options.store) {
      live = (await options.store.get(sid, Date.now())) !== null;
    }
    // The claims of someone's token: kept in no cache.
    return json(
      {
        header: decoded?.header ?? null,
        claims: decoded?.claims ?? null,
        jwks,
        server: verdict(server),
        session: { live },
      },
      200,
      NO_STORE,
    );
  });

  // This browser's own access token, with --lab only, for this origin's pages only: a
  // cross-site page, a navigation or an embed gets a 403, and no cache keeps the answer.
  if (!echo) return;
  app.get("/api/inspect/my-token", async (c) => {
    if (c.req.header("sec-fetch-site") !== "same-origin") {
      return problem(403, "same_origin_only", "Only this origin's pages may ask for the token");
    }
    const header = c.req.header("cookie");
    for (const [strategy, manager] of tokenManagers) {
      const result = await manager.authenticate(c.req.raw, { readOnly: true });
      if (result.session?.transport !== "cookie") continue;
      const found = findAuthCookie(header, tokenCookie(manager));
      if (found.status === "found") return json({ strategy, token: found.value }, 200, NO_STORE);
    }
    return problem(
      401,
      "unauthorized",
      "Sign in with jwt or hybrid first (an id session's token is not a JWT)",
    );
  });
}
