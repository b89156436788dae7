import type { Hono } from "hono";
import { problem } from "../adapters/fetch.js";
import {
  createJwtVerifier,
  decodeJwtUnverified,
  type JwkSet,
  publicKeySet,
} from "../tokens/index.js";
import { readJsonObject } from "./body.js";
import { type Env, json } from "./http.js";
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
    const body = `<section aria-labelledby="inspect"><h2 id="inspect">Token inspector</h2>
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
    return htmlPage(layout({ title: "Token inspector", body, script: "/assets/inspect.js" }));
  });

  app.post("/api/inspect", async (c) => {
    const body = await readJsonObject(c.req.raw);
    if (!body.ok) return body.response;
    const token = body.value.token;
    if (typeof token !== "string" || token.length > 8192) {
      return problem(400, "invalid_token_format", "token is a string of at most 8 KiB");
    }
    const decoded = decodeJwtUnverified(token.trim());
    const verdict = (result: { ok: true } | { ok: false; reason: string }) =>
      result.ok ? { ok: true } : { ok: false, reason: result.reason };
    // The claims of someone's token: kept in no cache.
    return json(
      {
        header: decoded?.header ?? null,
        claims: decoded?.claims ?? null,
        jwks: byJwks
          ? verdict(byJwks.verify(token.trim()))
          : { ok: false, reason: "no_public_keys: HMAC keys are secret and never in the JWKS" },
        server: verdict(byServer.verify(token.trim())),
      },
      200,
      NO_STORE,
    );
  });
}

export const INSPECT_SCRIPT = `
import { createSessionClient } from "/assets/client/index.js";
const client = createSessionClient();
const show = (id, value) => { document.getElementById(id).textContent = value; };
const decode = (part) => {
  const text = atob(part.replace(/-/g, "+").replace(/_/g, "/"));
  return JSON.parse(decodeURIComponent(Array.from(text, (c) => "%" + c.charCodeAt(0).toString(16).padStart(2, "0")).join("")));
};
document.getElementById("inspect-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const token = document.getElementById("token").value.trim();
  const parts = token.split(".");
  try {
    show("header", JSON.stringify(decode(parts[0]), null, 2));
    show("claims", JSON.stringify(decode(parts[1]), null, 2));
  } catch {
    show("header", "not a JWT: three base64url parts of JSON expected");
    show("claims", "");
  }
  const r = await client.fetch("/api/inspect", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ token }) });
  const result = await r.json();
  const say = (v) => (v.ok ? "valid" : "refused: " + v.reason);
  show("verdict-jwks", say(result.jwks));
  show("verdict-server", say(result.server));
});
`;
