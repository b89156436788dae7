import type { Hono } from "hono";
import { html } from "hono/html";
import {
  createJwtVerifier,
  decodeJwtUnverified,
  type JwkSet,
  publicKeySet,
} from "../tokens/index.js";
import { type Env, json, readTokenBody } from "./http.js";
import { htmlPage, layout } from "./page.js";

const NO_STORE = new Headers({ "cache-control": "no-store" });

export interface InspectOptions {
  keys: JwkSet;
  issuer: string;
  /** The audiences of this server's token strategies. */
  audiences: string[];
}

/**
 * The token inspector: paste a JWT, see its header and claims, and have it verified twice:
 * with the public keys of `/.well-known/jwks.json` (what another service can check) and with
 * the server's own key set (which also holds secret HMAC keys). Each answer gives its reason.
 * Whether a session is revoked is not said: that would tell anyone who holds a token more than
 * the token says.
 */
export function mountInspector(app: Hono<Env>, options: InspectOptions) {
  const claimsOf = { issuer: options.issuer, audience: options.audiences, type: null };
  const publicKeys = publicKeySet(options.keys);
  const byJwks = publicKeys.keys.length > 0 ? createJwtVerifier(publicKeys, claimsOf) : null;
  const byServer = createJwtVerifier(options.keys, claimsOf);

  app.get("/inspect", () => {
    const body = html`<section aria-labelledby="inspect"><h2 id="inspect">Token inspector</h2>
<form id="inspect-form">
  <label for="token">JWT</label>
  <textarea id="token" name="token" rows="5" spellcheck="false" autocomplete="off" required></textarea>
  <p><button type="submit">Decode and verify</button></p>
</form>
<h3>Header</h3><pre id="header" aria-live="polite"></pre>
<h3>Claims</h3><pre id="claims" aria-live="polite"></pre>
<h3>Verification</h3><ul><li>With the JWKS: <strong id="verdict-jwks">—</strong></li>
<li>With the server's key set: <strong id="verdict-server">—</strong></li></ul>
<p>Decoding happens in this page and proves nothing; only a verification does.</p></section>`;
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
    // The claims of someone's token: kept in no cache.
    return json(
      {
        header: decoded?.header ?? null,
        claims: decoded?.claims ?? null,
        jwks: byJwks
          ? verdict(byJwks.verify(token))
          : { ok: false, reason: "no_public_keys: HMAC keys are secret and never in the JWKS" },
        server: verdict(byServer.verify(token)),
      },
      200,
      NO_STORE,
    );
  });
}
