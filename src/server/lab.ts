import type { Hono } from "hono";
import { html } from "hono/html";
import { failureResponse, problem } from "../adapters/fetch.js";
import { isSessionError } from "../errors.js";
import type { AuthFailure, AuthResult, Session, SessionManager, StrategyName } from "../index.js";
import { type Env, readTokenBody, tokenCookie } from "./http.js";
import { attackerProof, labAuthenticate, labManagers, tokenExpiry } from "./lab-tokens.js";
import { type Html, htmlPage, layout } from "./page.js";

const NO_STORE = { "cache-control": "no-store" };

const OFF = html`<section aria-labelledby="lab"><h2 id="lab">Storage lab</h2>
<p>The storage lab is off on this server. It hands a copy of a token to the page's own
scripts to show what an injected script could take, which is what no real site should do, so
it only runs where someone asked for it: start the server with <code>--lab</code> (or
<code>SESSIONKIT_LAB=1</code>) to try it.</p>
<p>What it shows is written up in <code>docs/browser-storage.md</code>: a script can read
<code>localStorage</code> and <code>sessionStorage</code>, never an <code>HttpOnly</code>
cookie.</p></section>`;

// What a stolen copy of each strategy's token is worth: the lab's copies are of that kind.
const WHAT_A_COPY_IS: Record<StrategyName, Html> = {
  id: html`You are signed in with <code>id</code>: your token is an opaque string the server
looks up on every request. A stolen copy works as long as the session lives, and stops the
moment the session is revoked (sign out, or "Revoke" on another device).`,
  jwt: html`You are signed in with <code>jwt</code>: your token is a signed JWT the server checks
without a lookup. A stolen copy works until it expires, and whoever holds it gets a fresh one by
using it, as you do: it is worth the whole session, until the absolute limit or until a
revocation (sign out, or "Revoke" on another device) reaches every server through the change
feed.`,
  hybrid: html`You are signed in with <code>hybrid</code>: requests carry a short-lived access JWT,
and a refresh token renews it. A stolen access token works until it expires (minutes) and cannot
be renewed: the refresh token stays in an <code>HttpOnly</code> cookie sent only to the refresh
route, out of a script's reach. The attacker gets minutes, not the session.`,
};

function labBody(strategy: StrategyName, deviceBound: boolean): Html {
  return html`<section aria-labelledby="lab"><h2 id="lab">Storage lab</h2>
<p>Your session token lives in an <code>HttpOnly</code> cookie. Put a token in
<code>localStorage</code> and <code>sessionStorage</code>, then run a script as an attacker's
injected script (XSS) would, and see what it gets.</p>
<p id="lab-strategy">${WHAT_A_COPY_IS[strategy]}</p>
<p>The copies are of a lab token of the same kind: it stands for your session at this lab's own
route (<code>/api/lab/me</code>) and is refused everywhere else, so that the lab itself gives a
real injected script nothing to take.</p>
<p class="actions"><button type="button" id="lab-copy">Put a token in localStorage and sessionStorage</button>
<button type="button" id="lab-run">Run the injected script</button>
<button type="button" id="lab-clear">Remove the copies</button></p>
<p id="lab-expiry" class="meta"></p>
<table class="stack"><caption>Where the token is, as this tab sees it now</caption>
<thead><tr><th scope="col">Kept in</th><th scope="col">Present</th><th scope="col">Script can read it</th><th scope="col">Works from the attacker's machine</th><th scope="col">Survives closing the tab</th></tr></thead>
<tbody>
<tr><th scope="row">HttpOnly cookie</th><td data-label="Present" id="present-cookie">yes</td><td data-label="Script can read it" id="read-cookie">?</td><td data-label="Works from the attacker's machine" id="use-cookie">?</td><td data-label="Survives closing the tab">yes, until it expires or you sign out</td></tr>
<tr><th scope="row">localStorage</th><td data-label="Present" id="present-local">?</td><td data-label="Script can read it" id="read-local">?</td><td data-label="Works from the attacker's machine" id="use-local">?</td><td data-label="Survives closing the tab">yes, and across browser restarts</td></tr>
<tr><th scope="row">sessionStorage</th><td data-label="Present" id="present-session">?</td><td data-label="Script can read it" id="read-session">?</td><td data-label="Works from the attacker's machine" id="use-session">?</td><td data-label="Survives closing the tab">no: one tab only</td></tr>
<tr><th scope="row">localStorage, bound with DPoP</th><td data-label="Present" id="present-bound">?</td><td data-label="Script can read it" id="read-bound">?</td><td data-label="Works from the attacker's machine" id="use-bound">?</td><td data-label="Survives closing the tab">yes, with the key in IndexedDB</td></tr>
<tr><th scope="row">HttpOnly cookie, bound with DBSC</th><td data-label="Present" id="present-dbsc">${deviceBound ? "yes: this session is bound" : "no: this browser did not register a key"}</td><td data-label="Script can read it">no</td><td data-label="Works from the attacker's machine" id="use-dbsc">${deviceBound ? "only until it lapses (minutes), never renewed" : "yes, until it expires"}</td><td data-label="Survives closing the tab">yes, renewed by the browser's key</td></tr>
</tbody></table>
<p>The DPoP row's token is bound to a key this page made with WebCrypto and cannot export: an
injected script can read the token and can still <em>use</em> the key inside this tab while it
runs, but what it sends away is worthless. The "attacker's machine" column for that row is the
server trying the stolen token itself, as Bearer and with a proof from another key. The DBSC row
is for a copy of the cookie taken from the browser's files (malware, not a script): in browsers
that support DBSC the cookie lives a few minutes and only this browser's key renews it.</p>
<p>"Remove the copies" deletes them from this browser and revokes their lab sessions: a copy an
attacker already took stops working because of the revocation, not because yours is gone.</p>
<p id="lab-note">The script can still send requests that carry the cookie while the page is open
(it runs as the page); what <code>HttpOnly</code> prevents is taking the token away.</p></section>`;
}

const SIGNED_OUT = html`<section aria-labelledby="lab"><h2 id="lab">Storage lab</h2><p>Sign in on
<a href="/">the main page</a> first, with any strategy: the lab copies a token of the same kind
as yours.</p></section>`;

type Signed =
  | { strategy: StrategyName; session: Session }
  | { strategy: null; failure: AuthFailure; headers: Headers };

/**
 * The browser's session, whichever strategy it is signed in with (as a cookie: the lab is
 * about a browser's token), or the most telling refusal: a cross-site request's 403 first,
 * then a refused cookie rather than an absent one.
 */
async function signedIn(
  managers: Partial<Record<StrategyName, SessionManager>>,
  request: Request,
): Promise<Signed> {
  let refused: Extract<Signed, { strategy: null }> | null = null;
  const rank = (f: AuthFailure) => f.status * 2 + (f.reason === "missing" ? 0 : 1);
  for (const [strategy, manager] of Object.entries(managers) as Array<
    [StrategyName, SessionManager]
  >) {
    // Read-only: the lab answers with no session cookie, so a renewal here would be lost.
    const result = await manager.authenticate(request, { readOnly: true });
    const { session } = result;
    if (session && session.transport === "cookie" && session.userId !== null) {
      return { strategy, session };
    }
    const failure: AuthFailure = result.failure ?? {
      reason: "wrong_strategy",
      status: 401,
      transport: session?.transport ?? null,
    };
    if (!refused || rank(failure) > rank(refused.failure)) {
      refused = { strategy: null, failure, headers: result.headers };
    }
  }
  return (
    refused ?? {
      strategy: null,
      failure: { reason: "missing", status: 401, transport: null },
      headers: new Headers(),
    }
  );
}

/**
 * The storage lab: a session token in an `HttpOnly` cookie, in `localStorage` and in
 * `sessionStorage`, and a simulated injected script that shows what it can read and do with
 * each. Off unless `enabled` (`--lab`): then the copies are of a lab token of the signed-in
 * strategy (`lab-tokens.ts`), not of the session cookie, so that the one route that hands a
 * token to scripts gives a real XSS nothing to leave with.
 */
export function mountLab(
  app: Hono<Env>,
  managers: Partial<Record<StrategyName, SessionManager>>,
  options: { enabled: boolean; accessLifetimeMs: number },
) {
  const strategies = Object.keys(managers) as StrategyName[];
  if (!options.enabled || strategies.length === 0) {
    app.get("/lab", () => htmlPage(layout({ title: "Storage lab", body: OFF, script: "lab" })));
    return;
  }
  const labs = labManagers(strategies, options.accessLifetimeMs);

  app.get("/lab", async (c) => {
    const who = await signedIn(managers, c.req.raw);
    const manager = who.strategy ? managers[who.strategy] : undefined;
    const body =
      who.strategy && manager ? labBody(who.strategy, who.session.deviceBound) : SIGNED_OUT;
    // The script reads the session cookie's name as an injected script would know it.
    const config =
      who.strategy && manager
        ? { strategy: who.strategy, sessionCookie: tokenCookie(manager) }
        : {};
    return htmlPage(layout({ title: "Storage lab", body, script: "lab", config }));
  });

  /** A lab token for the signed-in user, of their strategy's kind; `request` for DPoP. */
  const copy = async (request: Request, bound: boolean): Promise<Response> => {
    const who = await signedIn(managers, request);
    if (!who.strategy) return failureResponse(who.failure, who.headers);
    const lab = labs[who.strategy] as SessionManager;
    try {
      const issued = await lab.create({
        userId: who.session.userId,
        transport: "header",
        ...(bound ? { request } : {}),
      });
      if (bound && !issued.session.deviceBound)
        return problem(400, "no_proof", "Send a DPoP proof");
      const expiresAt = tokenExpiry(issued.token) ?? issued.session.expiresAt;
      return Response.json(
        { token: issued.token, strategy: who.strategy, expiresAt: expiresAt.toISOString() },
        { headers: NO_STORE },
      );
    } catch (error) {
      if (isSessionError(error, "DPOP_REFUSED"))
        return problem(401, "invalid_dpop_proof", "DPoP proof refused");
      throw error;
    }
  };
  app.post("/api/lab/copy", (c) => copy(c.req.raw, false));
  // The same, bound with DPoP to the key the page proves in its request.
  app.post("/api/lab/copy-bound", (c) => copy(c.req.raw, true));

  // "Remove the copies": the user's lab sessions end, so that copies already taken stop working.
  app.delete("/api/lab/copy", async (c) => {
    const who = await signedIn(managers, c.req.raw);
    if (!who.strategy) return failureResponse(who.failure, who.headers);
    const userId = who.session.userId as string;
    let revoked = 0;
    for (const lab of Object.values(labs)) revoked += (await lab.revokeUser(userId)).length;
    return Response.json({ revoked }, { headers: NO_STORE });
  });

  // The attacker's machine for a bound token: the token alone, and with a proof from a key of
  // the attacker's own. Both must be refused; the answer says how each was.
  app.post("/api/lab/attacker", async (c) => {
    const body = await readTokenBody(c.req.raw, 4096, {
      code: "invalid_token",
      title: "token: the stolen copy",
    });
    if (!body.ok) return body.response;
    const token = body.token;
    const target = new URL("/api/lab/me", c.req.url).href;
    const asBearer = await labAuthenticate(
      labs,
      new Request(target, { headers: { authorization: `Bearer ${token}` } }),
    );
    const ownKey = await labAuthenticate(
      labs,
      new Request(target, {
        headers: { authorization: `DPoP ${token}`, dpop: attackerProof(target, token) },
      }),
    );
    const verdict = (r: AuthResult) => (r.session ? "accepted" : `refused: ${r.failure.reason}`);
    return Response.json(
      { bearer: verdict(asBearer), ownKey: verdict(ownKey) },
      { headers: NO_STORE },
    );
  });

  // What the stolen copy opens: this route alone.
  app.get("/api/lab/me", async (c) => {
    const result = await labAuthenticate(labs, c.req.raw);
    if (!result.session) return failureResponse(result.failure, result.headers);
    return Response.json(
      { userId: result.session.userId, strategy: result.session.strategy, lab: true },
      { headers: NO_STORE },
    );
  });
}
